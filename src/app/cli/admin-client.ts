/**
 * The operator commands talk to a running service's admin API, so they work the same against
 * the embedded mode and a real cluster. Where: `--url` or KYC_SERVICE_URL (default
 * http://127.0.0.1:8080); who: KYC_API_KEY (an admin key; never a flag, so it stays out of ps).
 */
export type AdminClient = {
  get(path: string): Promise<unknown>;
  post(path: string, body?: unknown): Promise<unknown>;
};

export class CliError extends Error {
  /** The service's problem code (`kafka.bridge_off` …) when the service refused the call. */
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.code = code;
  }
}

/** Where the service is and who calls it: `--url`, else KYC_SERVICE_URL, else the local default. */
export type ServiceTarget = { base: string; key: string | undefined };

export function serviceTarget(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ServiceTarget {
  const flag = args.indexOf('--url');
  const base = (flag >= 0 ? args[flag + 1] : undefined) ?? env.KYC_SERVICE_URL ?? 'http://127.0.0.1:8080';
  return { base, key: env.KYC_API_KEY };
}

/**
 * One call to the service, answered whatever its status (the caller decides what a refusal
 * means); throws CliError only when the service cannot be reached.
 */
export async function callService(
  target: ServiceTarget,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Readonly<Record<string, string>> } = {},
): Promise<{ status: number; ok: boolean; text: string }> {
  const { body, headers = {} } = options;
  let response: Response;
  try {
    response = await fetch(new URL(path, target.base), {
      method,
      headers: {
        ...(target.key === undefined ? {} : { authorization: `Bearer ${target.key}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    // fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, bad port) is its cause.
    const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
    const why = cause?.code ?? cause?.message;
    throw new CliError(
      `cannot reach the service at ${target.base}: ${error instanceof Error ? error.message : error}${typeof why === 'string' ? ` (${why})` : ''}`,
    );
  }
  return { status: response.status, ok: response.ok, text: await response.text() };
}

export function adminClient(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): AdminClient {
  const target = serviceTarget(args, env);
  async function send(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await callService(target, method, path, body === undefined ? {} : { body });
    const text = response.text;
    const parsed = text === '' ? null : (JSON.parse(text) as unknown);
    if (!response.ok) {
      const problem = parsed as { title?: string; detail?: string; code?: string } | null;
      throw new CliError(
        `${method} ${path} failed with ${response.status}: ${problem?.title ?? text}${problem?.detail ? ` (${problem.detail})` : ''}`,
        problem?.code,
      );
    }
    return parsed;
  }
  return { get: (path) => send('GET', path), post: (path, body) => send('POST', path, body) };
}

/** Runs a command body, turning CliErrors into a message on stderr and exit code 1. */
export async function guarded(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof CliError) {
      console.error(`error: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

/** A one-line progress bar: `[#####.....]  50% 1,234 events  2,345/s  ~3 s left`. */
export function progressLine(
  fraction: number,
  done: number,
  rate: number,
  remainingSeconds: number | null,
  unit = 'events',
): string {
  const width = 30;
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  const eta = remainingSeconds === null ? '' : `  ~${Math.ceil(remainingSeconds)} s left`;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${done.toLocaleString('en')} ${unit}  ${Math.round(rate).toLocaleString('en')}/s${eta}`;
}

/**
 * A progress line redrawn in place (`\r`). Each redraw is padded to the length of the one before,
 * so a shorter line leaves no tail of a longer one behind; `finish` draws the last state and ends
 * the line.
 */
export function progressWriter(out: { write(text: string): unknown } = process.stdout) {
  let previous = 0;
  const draw = (line: string): void => {
    out.write(`\r${line}${' '.repeat(Math.max(0, previous - line.length))}`);
    previous = line.length;
  };
  return {
    draw,
    finish(line: string): void {
      draw(line);
      out.write('\n');
      previous = 0;
    },
  };
}
