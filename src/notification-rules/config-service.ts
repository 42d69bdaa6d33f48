import got, { type Got } from 'got';
import type { NotificationRulesSource } from '../cases/application/ports.ts';
import type { RuleMatchContext } from '../cases/notifications.ts';
import { inSpan, SpanKind } from '../observability/tracing.ts';

/** What the configuration service answered: its raw JSON body, or why there is none. */
export type RuleLookup = Awaited<ReturnType<NotificationRulesSource['match']>>;

export type ConfigServiceOptions = {
  baseUrl: string;
  timeoutMs: number;
  /** How long an answer for the same trigger and case type is reused. */
  cacheTtlMs?: number;
  retries?: number;
  now?: () => number;
};

/**
 * Client of `POST {baseUrl}/rules/match` with `{event_trigger, context}`.
 * Never throws: a timeout, an HTTP error or invalid JSON comes back as `{ outcome: 'failed' }`
 * so the caller can fall back and record why. Answers are cached briefly per trigger because
 * rules change rarely and an intake burst would otherwise call the service once per case.
 */
export function createConfigServiceClient(options: ConfigServiceOptions) {
  const now = options.now ?? Date.now;
  const ttl = options.cacheTtlMs ?? 30_000;
  const cache = new Map<string, { at: number; rules: unknown }>();
  const http: Got = got.extend({
    prefixUrl: options.baseUrl.replace(/\/+$/, ''),
    timeout: { request: options.timeoutMs },
    // POST is not retried by default; this call is a pure lookup, so retrying it is safe.
    retry: { limit: options.retries ?? 2, methods: ['POST'], backoffLimit: 1_000 },
    responseType: 'json',
  });

  async function match(eventTrigger: string, context: RuleMatchContext): Promise<RuleLookup> {
    const key = `${eventTrigger}|${context.traitement_type}|${context.case_type}`;
    const cached = cache.get(key);
    if (cached !== undefined && now() - cached.at < ttl) return { outcome: 'answered', rules: cached.rules };
    try {
      const rules = await inSpan(
        'POST rules/match',
        {
          kind: SpanKind.CLIENT,
          attributes: { 'http.request.method': 'POST', 'rule.trigger': eventTrigger },
        },
        () => http.post('rules/match', { json: { event_trigger: eventTrigger, context } }).json<unknown>(),
      );
      cache.set(key, { at: now(), rules });
      return { outcome: 'answered', rules };
    } catch (error) {
      return {
        outcome: 'failed',
        reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      };
    }
  }

  return { match };
}

export type ConfigServiceClient = ReturnType<typeof createConfigServiceClient>;
