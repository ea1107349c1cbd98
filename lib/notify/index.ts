/**
 * Telling a person about a sweep's outcome: one message per outcome worth it (awaiting approval — the history
 * breaker's holds among them — failures, completed; lib/approval/decision.ts decides which outcomes those
 * are). The sweep calls `SweepDeps.notifySweepOutcome` once at its end; `sweepNotifier` builds that function.
 *
 * Where the message goes: with a topic (SWEEP_NOTIFY_TOPIC_ARN, deployed: the stack's alarm topic, whose
 * subscribers are the alarmEmails parameter) and a publisher, one SNS Publish; without a topic, `print` (the
 * CLI prints it, lib/cli conventions). Either way one log line records that it was sent (its subject, never
 * its text). A delivery problem is logged and swallowed: a notice never fails a sweep.
 */
import type { NotifySweepOutcome, SweepOutcomeNotice } from '../approval/decision.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { type MessageContext, type SweepMessage, sweepOutcomeMessage } from './message.ts';

export {
  MESSAGE_LIMIT_BYTES,
  redact,
  SUBJECT_LIMIT,
  type SweepMessage,
  sweepOutcomeMessage,
} from './message.ts';

/** The fields of an SNS Publish request this module sends (PublishCommandInput's names). */
export interface SnsPublishInput {
  readonly TopicArn: string;
  readonly Subject: string;
  readonly Message: string;
}

/** Sends one Publish (e.g. `(input) => snsClient.send(new PublishCommand(input))`). */
export type SnsPublish = (input: SnsPublishInput) => Promise<unknown>;

export interface NotifyDeps {
  /** SNS topic ARN (Config.notifyTopicArn); with `publish`, messages go there. */
  readonly topicArn?: string | undefined;
  readonly publish?: SnsPublish | undefined;
  /** Without a topic: where the message is printed (the CLI's output). */
  readonly print?: ((text: string) => void) | undefined;
  readonly logger?: Pick<Logger, 'info' | 'warn'> | undefined;
  /** The policy file and the secret values to keep out of the message (see `notifyContextFrom`). */
  readonly context?: MessageContext | undefined;
}

/** Where a notice went: `sns`, `printed`, or `logged` (no topic or publisher, and nothing to print to). */
export type NotifyResult =
  | { readonly sent: 'sns'; readonly message: SweepMessage }
  | { readonly sent: 'printed'; readonly message: SweepMessage }
  | { readonly sent: 'logged'; readonly message: SweepMessage }
  | { readonly sent: 'failed'; readonly message: SweepMessage; readonly error: string };

/** Delivers one notice (see the module comment); never throws for a delivery problem. */
export async function notifySweepOutcome(
  notice: SweepOutcomeNotice,
  deps: NotifyDeps,
): Promise<NotifyResult> {
  const message = sweepOutcomeMessage(notice, deps.context);
  const fields = { sweep_id: notice.report.sweep_id, kind: notice.kind, subject: message.subject };
  if (deps.topicArn !== undefined && deps.publish !== undefined) {
    try {
      await deps.publish({ TopicArn: deps.topicArn, Subject: message.subject, Message: message.text });
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      deps.logger?.warn('could not publish the sweep outcome notice', { ...fields, error: reason });
      return { sent: 'failed', message, error: reason };
    }
    deps.logger?.info('sweep outcome notice published', fields);
    return { sent: 'sns', message };
  }
  if (deps.print !== undefined) {
    try {
      deps.print(message.text);
    } catch (error) {
      return { sent: 'failed', message, error: error instanceof Error ? error.message : String(error) };
    }
    return { sent: 'printed', message };
  }
  deps.logger?.info('sweep outcome notice (not published: no topic or no SNS publisher configured)', {
    ...fields,
    text: message.text,
  });
  return { sent: 'logged', message };
}

/** The sweep's `notifySweepOutcome` dependency over `deps`. */
export function sweepNotifier(deps: NotifyDeps): NotifySweepOutcome {
  return async (notice) => {
    await notifySweepOutcome(notice, deps);
  };
}

/**
 * The message context from the configuration: the policy file (for the CLI approval line) and every secret
 * value it holds, so none can reach a message even if an upstream text echoed it.
 */
export function notifyContextFrom(cfg: Pick<Config, 'credentials' | 'policySource'>): MessageContext {
  const secrets: string[] = [];
  const credentials = cfg.credentials;
  if (credentials?.source === 'env') {
    if (credentials.mode === 'aksk') {
      secrets.push(credentials.ak, credentials.sk.reveal());
      if (credentials.securityToken !== undefined) secrets.push(credentials.securityToken.reveal());
    } else {
      secrets.push(credentials.password.reveal());
    }
  }
  return {
    ...(cfg.policySource?.kind === 'file' ? { policyFile: cfg.policySource.path } : {}),
    secrets,
  };
}
