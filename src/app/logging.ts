import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat, LogLevel } from './config.ts';

/**
 * Readable lines for a person at a terminal, one JSON object per line for everything else
 * (files, pipes, log shippers, the process tests). LOG_FORMAT overrides the guess either way.
 */
export function chooseLogFormat(configured: LogFormat | undefined, stdoutIsTty: boolean): LogFormat {
  return configured ?? (stdoutIsTty ? 'pretty' : 'json');
}

/**
 * The service's logger in the chosen format. Pretty printing runs in this thread and writes
 * synchronously, so the last lines before an exit (a start failure) are not lost.
 */
export function createLogger(options: {
  level: LogLevel;
  format: LogFormat;
  mixin?: LoggerOptions['mixin'];
  /** Where lines go; standard output unless a test captures them. */
  destination?: DestinationStream & NodeJS.WritableStream;
  colorize?: boolean;
}): Logger {
  const settings: LoggerOptions = {
    level: options.level,
    ...(options.mixin === undefined ? {} : { mixin: options.mixin }),
  };
  if (options.format === 'json') {
    return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
  }
  const stream = pretty({
    colorize: options.colorize ?? true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    sync: true,
    ...(options.destination === undefined ? {} : { destination: options.destination }),
  });
  return pino(settings, stream);
}
