/**
 * Telling a person about a sweep's outcome: one message per outcome worth it (awaiting approval — the history
 * breaker's holds among them — failures, completed; lib/approval/decision.ts decides which outcomes those
 * are). The sweep calls `SweepDeps.notifySweepOutcome` once at its end; `sweepNotifier` builds that function.
 *
 * Where the message goes: with a topic (SWEEP_NOTIFY_TOPIC_ARN, deployed: the stack's alarm topic, whose
 * subscribers are the alarmEmails parameter), one SNS Publish through `snsPublisher` (or an injected
 * `publish`); without a topic, `print` (the CLI prints it, lib/cli conventions). Either way one log line
 * records that it was sent (its subject, never its text). A delivery problem is logged and swallowed: a notice
 * never fails a sweep. The Publish is bounded (lib/budgets.ts notify*): the notice is sent after the report is
 * stored, inside the invocation's margin, so a hanging SNS endpoint loses the notice, not the deadline.
 */

import type { NotifySweepOutcome, SweepOutcomeNotice } from '../approval/decision.ts';
import { PublishCommand, SNSClient } from '../aws-sdk.ts';
import { BUDGETS } from '../budgets.ts';
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
  /** SNS topic ARN (Config.notifyTopicArn): messages go there, through `publish`. */
  readonly topicArn?: string | undefined;
  /** How a Publish is sent; default `snsPublisher({ region })`. */
  readonly publish?: SnsPublish | undefined;
  /** The AWS region of the default publisher's client (Config.awsRegion; the SDK's default chain without). */
  readonly region?: string | undefined;
  /** The invocation's call deadline: the default publisher gives up when it fires (see `snsPublisher`). */
  readonly signal?: AbortSignal | undefined;
  /** Without a topic: where the message is printed (the CLI's output). */
  readonly print?: ((text: string) => void) | undefined;
  readonly logger?: Pick<Logger, 'info' | 'warn'> | undefined;
  /** The policy file and the secret values to keep out of the message (see `notifyContextFrom`). */
  readonly context?: MessageContext | undefined;
}

/** Where a notice went: `sns`, `printed`, `logged` (no topic and nothing to print to), or `failed`. */
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
  if (deps.topicArn !== undefined) {
    const publish = deps.publish ?? snsPublisher({ region: deps.region, signal: deps.signal });
    try {
      await publish({ TopicArn: deps.topicArn, Subject: message.subject, Message: message.text });
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
      // As a subscriber reads it: the subject, then the text.
      deps.print(printedNotice(message));
    } catch (error) {
      return { sent: 'failed', message, error: error instanceof Error ? error.message : String(error) };
    }
    return { sent: 'printed', message };
  }
  deps.logger?.info('sweep outcome notice (not published: no SWEEP_NOTIFY_TOPIC_ARN)', {
    ...fields,
    text: message.text,
  });
  return { sent: 'logged', message };
}

/** One SNS client per region, created on the first Publish (the SNS package loads then: lib/aws-sdk.ts). */
const snsClients = new Map<string, SNSClient>();

/** The bounds of one Publish (lib/budgets.ts); tests shorten `publishMaxMs`. */
export interface SnsPublisherOptions {
  readonly region?: string | undefined;
  /** For a local SNS stand-in; AWS's endpoint without. */
  readonly endpoint?: string | undefined;
  /** The whole Publish, every attempt included, is abandoned after this long. */
  readonly publishMaxMs?: number | undefined;
  /** The invocation's call deadline (lib/deadline.ts): the Publish is abandoned when it fires, if sooner. */
  readonly signal?: AbortSignal | undefined;
}

export function snsClientFor(options: Pick<SnsPublisherOptions, 'region' | 'endpoint'> = {}): SNSClient {
  const key = `${options.endpoint ?? ''}|${options.region ?? ''}`;
  let client = snsClients.get(key);
  if (client === undefined) {
    client = new SNSClient({
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.region === undefined ? {} : { region: options.region }),
      maxAttempts: BUDGETS.notifyMaxAttempts,
      requestHandler: {
        requestTimeout: BUDGETS.notifyRequestTimeoutMs,
        connectionTimeout: BUDGETS.notifyRequestTimeoutMs,
        // Without it the SDK only logs a warning when the timeout passes and the call keeps waiting.
        throwOnRequestTimeout: true,
      },
    });
    snsClients.set(key, client);
  }
  return client;
}

/** Raised when a Publish outlives its bound (`publishMaxMs`); the notice is then lost, the sweep is not. */
class PublishTimeoutError extends Error {
  override name = 'PublishTimeoutError';
}

/**
 * Publishes through the process's SNS client, bounded twice: the client's own attempts and request timeouts,
 * and a timer over the whole call (it also aborts the SDK's request), which holds even when the SDK's
 * timeouts do not fire (a stalled credential lookup, a handler that ignores them). With `signal`, the
 * invocation's call deadline ends it too: a sweep that ran until its last moment loses its notice, not its
 * answer.
 */
export function snsPublisher(options: SnsPublisherOptions = {}): SnsPublish {
  const publishMaxMs = options.publishMaxMs ?? BUDGETS.notifyPublishMaxMs;
  return async (input) => {
    const deadline = options.signal;
    if (deadline?.aborted)
      throw new PublishTimeoutError('the invocation reached its deadline before the Publish');
    const client = snsClientFor(options);
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onDeadline: (() => void) | undefined;
    const bound = new Promise<never>((_resolve, reject) => {
      const give = (why: string) => {
        abort.abort();
        reject(new PublishTimeoutError(why));
      };
      timer = setTimeout(() => give(`SNS Publish did not answer within ${publishMaxMs} ms`), publishMaxMs);
      onDeadline = () => give('the invocation reached its deadline during the Publish');
      deadline?.addEventListener('abort', onDeadline, { once: true });
    });
    try {
      return await Promise.race([
        client.send(new PublishCommand(input), { abortSignal: abort.signal }),
        bound,
      ]);
    } finally {
      clearTimeout(timer);
      if (onDeadline !== undefined) deadline?.removeEventListener('abort', onDeadline);
    }
  };
}

/** The message as `print` gets it: the subject line, then the text (what the e-mail shows). */
export function printedNotice(message: SweepMessage): string {
  return `Notice: ${message.subject}\n${message.text}`;
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

/**
 * The notifier every function and the CLI use: to the configured topic (SWEEP_NOTIFY_TOPIC_ARN) when there is
 * one, else to `print` (the CLI's output) or the log.
 */
export function notifierFor(
  cfg: Pick<Config, 'credentials' | 'policySource' | 'notifyTopicArn' | 'awsRegion'>,
  deps: Pick<NotifyDeps, 'logger' | 'print' | 'publish' | 'signal'> = {},
): NotifySweepOutcome {
  return sweepNotifier({
    ...deps,
    topicArn: cfg.notifyTopicArn,
    region: cfg.awsRegion,
    context: notifyContextFrom(cfg),
  });
}
