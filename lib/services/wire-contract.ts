import { parseHuaweiTime } from './deletion.ts';

/**
 * The upstream records this project reads, restated as data from the official SDK models (and, where a
 * model is silent or wrong, the service's API reference): every field, whether the model always sends it, its
 * type and its closed set of values. The simulator's contract tests hold its responses to these lists, and
 * `npm run doctor` runs every record a real account lists through them and counts what does not fit.
 */

export type FieldType = 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array' | 'any';

export interface FieldSpec {
  /** One type, or several when the SDK model and the API reference disagree (the record may use either). */
  readonly type: FieldType | readonly FieldType[];
  /** Present in every record (the SDK model marks it without `omitempty`). */
  readonly required?: boolean;
  /** May be JSON null. */
  readonly nullable?: boolean;
  /** The closed set of documented values. */
  readonly values?: readonly string[];
  /** `values` compared case-insensitively (the DDS backup type is written Auto/auto by different sources). */
  readonly caseInsensitive?: boolean;
  /** A timestamp: must parse (an empty string counts as absent where `emptyAllowed`). */
  readonly time?: RegExp | true;
  readonly emptyAllowed?: boolean;
  /** Object fields, or the fields of each array item. */
  readonly record?: RecordSpec;
}

export interface RecordSpec {
  /** Where the field list comes from (repository and path). */
  readonly source: string;
  readonly fields: Readonly<Record<string, FieldSpec>>;
}

export type ContractProblemKind =
  | 'unknown_field'
  | 'missing_field'
  | 'wrong_type'
  | 'unknown_value'
  | 'bad_time';

export interface ContractProblem {
  readonly kind: ContractProblemKind;
  /** `backups[3].extend_info.copy_status` */
  readonly path: string;
  readonly detail: string;
}

const TAG: RecordSpec = {
  source: 'huaweicloud-sdk-go-v3 services/cbr/v1/model/model_tag.go',
  fields: { key: { type: 'string', required: true }, value: { type: 'string' } },
};

/** `yyyy-mm-dd hh:mm:ss`, UTC: DDS backup times (services/dds/v3/model/model_backup_for_list.go). */
export const DDS_BACKUP_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
/** `yyyy-mm-ddThh:mm:ssZ` with Z a zone offset such as +0800: DDS job times (model_job_detail.go). */
export const DDS_JOB_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{4})$/;

export const CBR_BACKUP_STATUSES = [
  'available',
  'protecting',
  'deleting',
  'restoring',
  'error',
  'waiting_protect',
  'waiting_delete',
  'waiting_restore',
] as const;
/** `backup` or `replication` (a copy made by cross-region replication). */
export const CBR_IMAGE_TYPES = ['backup', 'replication'] as const;

/** huaweicloud-sdk-go-v3 services/cbr/v1/model/model_backup_resp.go (+ model_backup_extend_info.go). */
export const CBR_BACKUP: RecordSpec = {
  source: 'huaweicloud-sdk-go-v3 services/cbr/v1/model/model_backup_resp.go',
  fields: {
    checkpoint_id: { type: 'string', required: true },
    created_at: { type: 'string', required: true, time: true },
    description: { type: 'string', required: true },
    expired_at: { type: 'string', required: true, nullable: true, time: true },
    extend_info: {
      type: 'object',
      required: true,
      nullable: true,
      record: {
        source: 'huaweicloud-sdk-go-v3 services/cbr/v1/model/model_backup_extend_info.go',
        fields: {
          auto_trigger: { type: 'boolean' },
          bootable: { type: 'boolean' },
          incremental: { type: 'boolean' },
          snapshot_id: { type: 'string' },
          // The model says string; the API reference says boolean.
          support_lld: { type: ['string', 'boolean'] },
          // The Go enum spells " backup" and " snapshot" with a leading space: a typo in the generator input.
          supported_restore_mode: { type: 'string', values: ['na', 'backup', 'snapshot'] },
          os_images_data: { type: 'array' },
          contain_system_disk: { type: 'boolean' },
          encrypted: { type: 'boolean' },
          system_disk: { type: 'boolean' },
        },
      },
    },
    id: { type: 'string', required: true },
    image_type: { type: 'string', required: true, values: CBR_IMAGE_TYPES },
    name: { type: 'string', required: true },
    parent_id: { type: 'string', required: true, nullable: true },
    project_id: { type: 'string', required: true },
    protected_at: { type: 'string', required: true, nullable: true },
    resource_az: { type: 'string', required: true },
    resource_id: { type: 'string', required: true },
    resource_name: { type: 'string', required: true },
    // GB of the protected resource. The Go model types it string, the API reference integer.
    resource_size: { type: ['integer', 'string'], required: true },
    // The Go enum has the first two; the API reference adds the others.
    resource_type: {
      type: 'string',
      required: true,
      values: [
        'OS::Nova::Server',
        'OS::Cinder::Volume',
        'OS::Ironic::BareMetalServer',
        'OS::Native::Server',
        'OS::Sfs::Turbo',
        'OS::Workspace::DesktopV2',
      ],
    },
    status: { type: 'string', required: true, values: CBR_BACKUP_STATUSES },
    updated_at: { type: 'string', required: true, time: true },
    vault_id: { type: 'string', required: true },
    replication_records: { type: 'array', required: true, nullable: true },
    enterprise_project_id: { type: 'string' },
    // In the API reference ("查询所有备份" response), not in the Go model.
    provider_id: { type: 'string' },
    children: { type: 'array' },
  },
};

/** ListBackups: the Go model has `backups` and `count`; the API reference also echoes `offset` and `limit`. */
export const CBR_LIST_BACKUPS: RecordSpec = {
  source: 'huaweicloud-sdk-go-v3 services/cbr/v1/model/model_list_backups_response.go',
  fields: {
    backups: { type: 'array', required: true, record: CBR_BACKUP },
    count: { type: 'integer', required: true },
    offset: { type: 'integer' },
    limit: { type: 'integer' },
  },
};

export const CBR_SHOW_BACKUP: RecordSpec = {
  source: 'huaweicloud-sdk-go-v3 services/cbr/v1/model/model_show_backup_response.go',
  fields: { backup: { type: 'object', required: true, record: CBR_BACKUP } },
};

/** huaweicloud-sdk-go-v3 services/cbr/v1/model/model_vault.go, model_billing.go, model_resource_resp.go. */
export const CBR_VAULT: RecordSpec = {
  source: 'huaweicloud-sdk-go-v3 services/cbr/v1/model/model_vault.go',
  fields: {
    billing: {
      type: 'object',
      required: true,
      record: {
        source: 'huaweicloud-sdk-go-v3 services/cbr/v1/model/model_billing.go',
        fields: {
          allocated: { type: 'integer', required: true },
          charging_mode: { type: 'string', required: true, values: ['pre_paid', 'post_paid'] },
          cloud_type: { type: 'string', values: ['public', 'hybrid'] },
          consistent_level: { type: 'string', required: true },
          object_type: { type: 'string', values: ['server', 'disk'] },
          order_id: { type: 'string' },
          product_id: { type: 'string' },
          protect_type: { type: 'string', required: true, values: ['backup', 'replication', 'hybrid'] },
          size: { type: 'integer', required: true },
          spec_code: {
            type: 'string',
            required: true,
            values: ['vault.backup.server.normal', 'vault.backup.volume.normal'],
          },
          status: {
            type: 'string',
            required: true,
            values: ['available', 'lock', 'frozen', 'deleting', 'error'],
          },
          storage_unit: { type: 'string' },
          used: { type: 'integer', required: true },
          frozen_scene: { type: 'string' },
        },
      },
    },
    description: { type: 'string' },
    id: { type: 'string', required: true },
    name: { type: 'string', required: true },
    project_id: { type: 'string', required: true },
    provider_id: { type: 'string', required: true },
    resources: {
      type: 'array',
      required: true,
      record: {
        source: 'huaweicloud-sdk-go-v3 services/cbr/v1/model/model_resource_resp.go',
        fields: {
          extra_info: { type: 'object' },
          id: { type: 'string', required: true },
          name: { type: 'string', required: true },
          protect_status: {
            type: 'string',
            values: ['available', 'error', 'protecting', 'restoring', 'removing'],
          },
          size: { type: 'integer' },
          type: { type: 'string', required: true },
          backup_size: { type: ['string', 'integer'] },
          backup_count: { type: ['string', 'integer'] },
        },
      },
    },
    tags: { type: 'array', record: TAG },
    enterprise_project_id: { type: 'string' },
    // The Go model types both as strings; the API returns a boolean and an object.
    auto_bind: { type: ['string', 'boolean'] },
    bind_rules: { type: 'any' },
    user_id: { type: 'string' },
    created_at: { type: 'string', time: true },
  },
};

export const CBR_LIST_VAULTS: RecordSpec = {
  source: 'huaweicloud-sdk-go-v3 services/cbr/v1/model/model_list_vault_response.go',
  fields: {
    vaults: { type: 'array', required: true, record: CBR_VAULT },
    count: { type: 'integer', required: true },
  },
};

/** `type` as the Go enum spells it (the API reference writes Auto, Manual, Incremental). */
export const DDS_BACKUP_TYPES = ['auto', 'manual', 'fragment', 'incremental'] as const;
/** The doc comment lists DISABLED ("being deleted"), the Go enum DELETING: both are read. */
export const DDS_BACKUP_STATUSES = ['BUILDING', 'COMPLETED', 'FAILED', 'DISABLED', 'DELETING'] as const;

/** huaweicloud-sdk-go-v3 services/dds/v3/model/model_backup_for_list.go (newest version). */
export const DDS_BACKUP: RecordSpec = {
  source: 'huaweicloud-sdk-go-v3 services/dds/v3/model/model_backup_for_list.go',
  fields: {
    id: { type: 'string', required: true },
    name: { type: 'string', required: true },
    instance_id: { type: 'string', required: true },
    instance_name: { type: 'string', required: true },
    datastore: {
      type: 'object',
      required: true,
      record: {
        source: 'huaweicloud-sdk-go-v3 services/dds/v3/model/model_backup_database.go',
        fields: { type: { type: 'string', required: true }, version: { type: 'string', required: true } },
      },
    },
    type: { type: 'string', required: true, values: DDS_BACKUP_TYPES, caseInsensitive: true },
    begin_time: { type: 'string', required: true, time: DDS_BACKUP_TIME },
    end_time: { type: 'string', required: true, time: DDS_BACKUP_TIME, emptyAllowed: true },
    status: { type: 'string', required: true, values: DDS_BACKUP_STATUSES },
    /** KB. */
    size: { type: 'integer', required: true },
    description: { type: 'string', required: true },
    instance_status: {
      type: 'string',
      values: ['normal', 'abnormal', 'creating', 'frozen', 'data_disk_full', 'enlargefail'],
    },
    instance_mode: { type: 'string', values: ['Sharding', 'ReplicaSet', 'Single'] },
    /** true: the instance is being restored (or checked for a restore); its backups may not be deleted. */
    is_instance_restoring: { type: 'boolean' },
    backup_method: { type: 'string', values: ['Snapshot', 'Physical', 'Logical', 'Incremental'] },
    kms_enable: { type: 'boolean' },
    /** false: upstream refuses the deletion (automatic backups while a full-backup policy exists). */
    deletable: { type: 'boolean' },
  },
};

export const DDS_LIST_BACKUPS: RecordSpec = {
  source: 'huaweicloud-sdk-go-v3 services/dds/v3/model/model_list_backups_response.go',
  fields: {
    backups: { type: 'array', required: true, record: DDS_BACKUP },
    total_count: { type: 'integer', required: true },
  },
};

/** huaweicloud-sdk-go-v3 services/dds/v3/model/model_job_detail.go. */
export const DDS_JOB: RecordSpec = {
  source: 'huaweicloud-sdk-go-v3 services/dds/v3/model/model_job_detail.go',
  fields: {
    id: { type: 'string', required: true },
    name: { type: 'string', required: true },
    status: { type: 'string', required: true, values: ['Running', 'Completed', 'Failed'] },
    created: { type: 'string', required: true, time: DDS_JOB_TIME },
    // Unconfirmed: what `ended` holds while the job runs; read as empty.
    ended: { type: 'string', required: true, time: DDS_JOB_TIME, emptyAllowed: true },
    progress: { type: 'string', required: true },
    instance: {
      type: 'object',
      required: true,
      record: {
        source: 'huaweicloud-sdk-go-v3 services/dds/v3/model/model_job_instance_info.go',
        fields: { id: { type: 'string', required: true }, name: { type: 'string', required: true } },
      },
    },
    fail_reason: { type: 'string', required: true },
  },
};

export const DDS_SHOW_JOB: RecordSpec = {
  source: 'huaweicloud-sdk-go-v3 services/dds/v3/model/model_show_job_info_response.go',
  fields: { job: { type: 'object', required: true, record: DDS_JOB } },
};

/** ListInstanceTags, `GET /v3/{project_id}/instances/{instance_id}/tags` (dds_meta.go). */
export const DDS_INSTANCE_TAGS: RecordSpec = {
  source: 'huaweicloud-sdk-go-v3 services/dds/v3/model/model_list_instance_tags_response.go',
  fields: {
    tags: {
      type: 'array',
      required: true,
      record: {
        source: 'huaweicloud-sdk-go-v3 services/dds/v3/model/model_query_resource_tag_item.go',
        fields: { key: { type: 'string', required: true }, value: { type: 'string', required: true } },
      },
    },
  },
};

export const CSBS_ITEM_STATUSES = [...CBR_BACKUP_STATUSES, 'deleted'] as const;
/** `na` (not a copy), `waiting_copy`, `copying`, `success`, `fail` (CSBS API reference, Querying All Backups). */
export const CSBS_COPY_STATUSES = ['na', 'waiting_copy', 'copying', 'success', 'fail'] as const;

const CSBS_VOLUME_BACKUP: RecordSpec = {
  source: 'huaweicloud/golangsdk openstack/csbs/v1/backup/results.go (VolumeBackup)',
  fields: {
    average_speed: { type: 'integer' },
    bootable: { type: 'boolean' },
    id: { type: 'string', required: true },
    image_type: { type: 'string', values: ['backup'] },
    incremental: { type: 'boolean' },
    name: { type: 'string' },
    /** MB, accumulated (API reference: "Accumulated size (MB) of backups"). */
    size: { type: 'integer', required: true },
    source_volume_id: { type: 'string' },
    /** GB. */
    source_volume_size: { type: 'integer' },
    space_saving_ratio: { type: 'integer' },
    status: { type: 'string' },
    source_volume_name: { type: 'string' },
    snapshot_id: { type: 'string' },
  },
};

/** huaweicloud/golangsdk openstack/csbs/v1/backup/results.go (Backup, ExtendInfo) and the CSBS API reference. */
export const CSBS_ITEM: RecordSpec = {
  source: 'huaweicloud/golangsdk openstack/csbs/v1/backup/results.go',
  fields: {
    checkpoint_id: { type: 'string', required: true },
    created_at: { type: 'string', required: true, time: true },
    extend_info: {
      type: 'object',
      required: true,
      record: {
        source: 'huaweicloud/golangsdk openstack/csbs/v1/backup/results.go (ExtendInfo)',
        fields: {
          auto_trigger: { type: 'boolean' },
          average_speed: { type: 'integer' },
          copy_from: { type: 'string' },
          copy_status: { type: 'string', values: CSBS_COPY_STATUSES },
          fail_code: { type: 'object' },
          fail_op: { type: 'string', values: ['backup', 'restore', 'delete', ''] },
          fail_reason: { type: 'string' },
          image_type: { type: 'string' },
          incremental: { type: 'boolean' },
          progress: { type: 'integer' },
          resource_az: { type: 'string' },
          resource_name: { type: 'string' },
          resource_type: { type: 'string' },
          /** MB (API reference: "Backup capacity. The unit is MB."). */
          size: { type: 'integer' },
          space_saving_ratio: { type: 'integer' },
          volume_backups: { type: 'array', record: CSBS_VOLUME_BACKUP },
          finished_at: { type: 'string', time: true, emptyAllowed: true },
          taskid: { type: 'string' },
          hypervisor_type: { type: 'string' },
          supported_restore_mode: { type: 'string', values: ['na', 'snapshot', 'backup'] },
          support_lld: { type: 'boolean' },
          os_images_data: { type: 'array' },
        },
      },
    },
    id: { type: 'string', required: true },
    name: { type: 'string', required: true },
    resource_id: { type: 'string', required: true },
    status: { type: 'string', required: true, values: CSBS_ITEM_STATUSES },
    updated_at: { type: 'string', required: true, time: true },
    backup_data: { type: 'object' },
    description: { type: 'string' },
    tags: { type: 'array', record: TAG },
    resource_type: { type: 'string', required: true },
  },
};

export const CSBS_LIST_ITEMS: RecordSpec = {
  source: 'huaweicloud/golangsdk openstack/csbs/v1/backup/results.go (BackupPage)',
  fields: {
    checkpoint_items: { type: 'array', required: true, record: CSBS_ITEM },
    checkpoint_items_links: {
      type: 'array',
      record: {
        source: 'huaweicloud/golangsdk (golangsdk.Link)',
        fields: { href: { type: 'string', required: true }, rel: { type: 'string', required: true } },
      },
    },
  },
};

export const CSBS_SHOW_ITEM: RecordSpec = {
  source: 'huaweicloud/golangsdk openstack/csbs/v1/backup/results.go (ExtractBackup)',
  fields: { checkpoint_item: { type: 'object', required: true, record: CSBS_ITEM } },
};

/** huaweicloud-sdk-go-v3 services/dis/v2/model/model_list_apps_response.go, model_describe_app_result.go. */
export const DIS_LIST_APPS: RecordSpec = {
  source: 'huaweicloud-sdk-go-v3 services/dis/v2/model/model_list_apps_response.go',
  fields: {
    has_more_app: { type: 'boolean', required: true },
    apps: {
      type: 'array',
      required: true,
      record: {
        source: 'huaweicloud-sdk-go-v3 services/dis/v2/model/model_describe_app_result.go',
        fields: {
          app_name: { type: 'string', required: true },
          app_id: { type: 'string', required: true },
          /** Epoch milliseconds. */
          create_time: { type: 'integer', required: true },
          commit_checkpoint_stream_names: { type: 'array' },
        },
      },
    },
    total_number: { type: 'integer' },
  },
};

/**
 * ShowConsumerState. The Go model of the response (model_show_consumer_state_response.go) repeats the app's
 * fields and has no partition list: the list below is the DIS API reference's, as the digest restates it.
 */
export const DIS_CONSUMER_STATE: RecordSpec = {
  source: 'DIS API reference, Querying App Consumption State (Go model incomplete)',
  fields: {
    has_more: { type: 'boolean', required: true },
    stream_name: { type: 'string', required: true },
    app_name: { type: 'string', required: true },
    partition_consuming_states: {
      type: 'array',
      required: true,
      record: {
        source: 'DIS API reference, PartitionConsumingStates',
        fields: {
          partition_id: { type: 'string', required: true },
          sequence_number: { type: 'string', required: true },
          latest_offset: { type: 'integer' },
          earliest_offset: { type: 'integer' },
          checkpoint_type: { type: 'string', values: ['LAST_READ'] },
          // services/dis/v2/model/model_partition_result.go (partition status)
          status: { type: 'string', values: ['CREATING', 'ACTIVE', 'DELETED', 'EXPIRED'] },
        },
      },
    },
  },
};

function typeOf(value: unknown): FieldType {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  return 'object';
}

function typeFits(actual: FieldType, expected: FieldSpec['type']): boolean {
  const wanted = typeof expected === 'string' ? [expected] : expected;
  return wanted.some(
    (type) => type === 'any' || type === actual || (type === 'number' && actual === 'integer'),
  );
}

function timeProblem(value: string, spec: FieldSpec): string | undefined {
  if (value === '' && spec.emptyAllowed) return undefined;
  if (spec.time instanceof RegExp && !spec.time.test(value))
    return `"${value}" is not in ${spec.time.source}`;
  return Number.isNaN(parseHuaweiTime(value)) ? `"${value}" is not a time` : undefined;
}

/** Every way `value` departs from `spec` (unknown and missing fields, types, values, times). */
export function checkRecord(spec: RecordSpec, value: unknown, path = ''): ContractProblem[] {
  const problems: ContractProblem[] = [];
  const at = (name: string) => (path === '' ? name : `${path}.${name}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [{ kind: 'wrong_type', path: path || '(root)', detail: `expected an object (${spec.source})` }];
  }
  const record = value as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    if (!(name in spec.fields))
      problems.push({ kind: 'unknown_field', path: at(name), detail: `not in ${spec.source}` });
  }
  for (const [name, field] of Object.entries(spec.fields)) {
    const fieldValue = record[name];
    if (fieldValue === undefined) {
      if (field.required) problems.push({ kind: 'missing_field', path: at(name), detail: spec.source });
      continue;
    }
    if (fieldValue === null) {
      if (!field.nullable && field.type !== 'any')
        problems.push({ kind: 'wrong_type', path: at(name), detail: 'null' });
      continue;
    }
    const actual = typeOf(fieldValue);
    if (!typeFits(actual, field.type)) {
      problems.push({
        kind: 'wrong_type',
        path: at(name),
        detail: `${actual}, expected ${String(field.type)}`,
      });
      continue;
    }
    if (typeof fieldValue === 'string') {
      if (field.values !== undefined) {
        const known = field.caseInsensitive
          ? field.values.some((known) => known.toLowerCase() === fieldValue.toLowerCase())
          : field.values.includes(fieldValue);
        if (!known)
          problems.push({
            kind: 'unknown_value',
            path: at(name),
            detail: `"${fieldValue}" (${field.values.join(', ')})`,
          });
      }
      if (field.time !== undefined) {
        const problem = timeProblem(fieldValue, field);
        if (problem !== undefined) problems.push({ kind: 'bad_time', path: at(name), detail: problem });
      }
    }
    if (field.record !== undefined) {
      if (Array.isArray(fieldValue)) {
        fieldValue.forEach((item, index) => {
          problems.push(...checkRecord(field.record as RecordSpec, item, `${at(name)}[${index}]`));
        });
      } else problems.push(...checkRecord(field.record, fieldValue, at(name)));
    }
  }
  return problems;
}
