import { createHmac } from 'node:crypto';
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { Logger } from 'pino';
import type { JobView } from './job.js';
import { loadWebhookSecret } from './webhook-secret.js';
import { checkWebhookTarget, WebhookTargetError, type WebhookLookup, type WebhookTarget } from './webhook-target.js';

/** `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, the X-Corral-Signature header (docs/webhooks.md). */
export function signWebhook(secret: string, timestamp: number, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

export interface DeliverWebhookOptions {
  logger: Logger;
  /** The signing key, or a function that gives it (called once, on the first attempt). */
  secret: string | (() => string);
  /** CORRAL_WEBHOOK_ALLOW_PRIVATE. */
  allowPrivate: boolean;
  /** Tries in all; a network error, a timeout, a 3xx, 4xx or 5xx and an unresolvable host each use one. */
  attempts?: number;
  /** Wait before the second try; it doubles after each. */
  firstDelayMs?: number;
  /** Bound on each try, from connecting to the response's status line. */
  timeoutMs?: number;
  lookup?: WebhookLookup;
}

/**
 * POSTs a finished job to its webhook, signed (X-Corral-Timestamp,
 * X-Corral-Signature). Before every try the URL's host is resolved and checked
 * again (webhook-target.ts) and the connection goes to exactly the checked
 * addresses, with the URL's name as Host header and TLS server name.
 * Redirects are not followed: a 3xx is a failed try. A refused address ends
 * delivery at once; other failures are retried with doubling back-off.
 * Failures are logged, never thrown; resolves to whether a 2xx came back.
 */
export async function deliverWebhook(url: string, job: JobView, options: DeliverWebhookOptions): Promise<boolean> {
  const { logger, allowPrivate, lookup, attempts = 4, firstDelayMs = 250, timeoutMs = 10_000 } = options;
  const body = Buffer.from(JSON.stringify(job));
  let secret: string;
  try {
    secret = typeof options.secret === 'string' ? options.secret : options.secret();
  } catch (err) {
    logger.error({ job: job.id, err: (err as Error).message }, 'webhook not sent: no signing secret');
    return false;
  }
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const target = await checkWebhookTarget(url, { allowPrivate, lookup });
      const timestamp = Math.floor(Date.now() / 1000);
      const status = await post(target, {
        'content-type': 'application/json',
        'content-length': body.length,
        'user-agent': 'corral-webhook',
        'x-corral-job': job.id,
        'x-corral-attempt': String(attempt),
        'x-corral-timestamp': String(timestamp),
        'x-corral-signature': signWebhook(secret, timestamp, body),
      }, body, timeoutMs);
      if (status >= 200 && status < 300) return true;
      if (status >= 300 && status < 400) logger.warn({ job: job.id, url, status, attempt }, 'webhook answered with a redirect, which is not followed');
      else logger.warn({ job: job.id, url, status, attempt }, 'webhook answered with an error');
    } catch (err) {
      if (err instanceof WebhookTargetError && err.reason !== 'unresolvable') {
        logger.warn({ job: job.id, url, err: err.message }, 'webhook not sent: its target is refused');
        return false;
      }
      logger.warn({ job: job.id, url, err: (err as Error).message, attempt }, 'webhook delivery failed');
    }
    if (attempt < attempts) await new Promise((r) => setTimeout(r, firstDelayMs * 2 ** (attempt - 1)));
  }
  return false;
}

/** A node:net lookup that answers every query with the checked addresses, whatever the name. */
function pinnedLookup(target: WebhookTarget): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, target.addresses);
    else callback(null, target.addresses[0]!.address, target.addresses[0]!.family);
  };
}

/** One POST to the checked target; resolves to the response status (the body is not read). */
function post(target: WebhookTarget, headers: OutgoingHttpHeaders, body: Buffer, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(target.url, {
      method: 'POST',
      headers,
      agent: false, // a fresh connection to the checked address, never a pooled one
      lookup: pinnedLookup(target),
      ...(target.url.protocol === 'https:' && !isIP(target.hostname) ? { servername: target.hostname } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    }, (res: IncomingMessage) => {
      resolve(res.statusCode ?? 0);
      res.destroy();
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface WebhookSenderOptions {
  logger: Logger;
  /** CORRAL_HOME: where webhook.secret is made when no secret is configured. */
  home: string;
  /** CORRAL_WEBHOOK_SECRET, if set. */
  secret?: string;
  allowPrivate: boolean;
}

/** deliverWebhook with the gateway's settings; the secret file is made (or read) on the first delivery. */
export function webhookSender(options: WebhookSenderOptions): (url: string, job: JobView) => Promise<boolean> {
  let secret = options.secret;
  const getSecret = () => (secret ??= loadWebhookSecret(options.home));
  return (url, job) => deliverWebhook(url, job, { logger: options.logger, secret: getSecret, allowPrivate: options.allowPrivate });
}
