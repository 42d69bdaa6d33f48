import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { FILE_HEADER_SIZE, FILE_MAGIC, summarizeFrame, TOMBSTONE_REVISION } from './record.ts';
import { plural, scanLog } from './recovery.ts';
import { type LogFileSystem, nodeLogFileSystem } from './storage.ts';

/** Events of one stream found intact in the bytes a repair drops. */
export type DroppedStream = { stream: string; events: number; firstRevision: number; lastRevision: number };

export type RepairReport =
  | { outcome: 'intact'; file: string; frames: number; events: number }
  | {
      /** `would_cut` for a dry run: nothing was changed. */
      outcome: 'cut' | 'would_cut';
      file: string;
      /** Where the log now ends (or would): the offset of the first damaged frame. */
      offset: number;
      reason: string;
      keptFrames: number;
      keptEvents: number;
      droppedBytes: number;
      /** Intact frames found in the dropped bytes, the events they hold, and the bytes of neither. */
      droppedFrames: number;
      droppedEvents: number;
      undecodedBytes: number;
      streams: DroppedStream[];
      /** The copy of the dropped bytes, when one was kept. */
      backup?: string;
    };

export type RepairOptions = {
  /** Report what would be cut, change nothing. */
  dryRun?: boolean;
  /** Keep a copy of the dropped bytes as `log.bin.cut-<offset>` beside the log (default true). */
  backup?: boolean;
  fileSystem?: Pick<LogFileSystem, 'syncDirectory'>;
};

const COPY_CHUNK = 4 * 1024 * 1024;
const MAX_STREAMS_SHOWN = 20;

/**
 * Cuts `<dir>/log.bin` at its first damaged frame, which drops every frame after it, intact or
 * not: the explicit counterpart of the refusal to start on a damaged log. Reports what was kept
 * and what was dropped (decoded where frames are intact). The copy of the dropped bytes and the
 * cut are synced, the copy before the cut. Never run it while an emulator has the log open.
 * Throws when there is no log, or the file is not an emulator log.
 */
export function repairLog(dir: string, options: RepairOptions = {}): RepairReport {
  const file = join(dir, 'log.bin');
  if (!existsSync(file)) throw new Error(`no event log at ${file}`);
  const dryRun = options.dryRun ?? false;
  const handle = openSync(file, dryRun ? 'r' : 'r+');
  try {
    const fileSize = fstatSync(handle).size;
    // Shorter than its header: the emulator starts such a log afresh, as nothing in it was acknowledged.
    if (fileSize < FILE_HEADER_SIZE) return { outcome: 'intact', file, frames: 0, events: 0 };
    const magic = Buffer.alloc(FILE_MAGIC.length);
    readSync(handle, magic, 0, magic.length, 0);
    if (!magic.equals(FILE_MAGIC)) throw new Error(`${file} is not an event store emulator log`);

    const streams = new Map<string, DroppedStream>();
    let droppedFrameBytes = 0;
    const scan = scanLog(
      handle,
      fileSize,
      () => {},
      (frame) => {
        droppedFrameBytes += frame.length;
        for (const { stream, revision } of summarizeFrame(frame)) {
          const seen = streams.get(stream);
          if (seen === undefined) {
            streams.set(stream, { stream, events: 1, firstRevision: revision, lastRevision: revision });
          } else {
            seen.events++;
            seen.lastRevision = revision;
          }
        }
      },
    );
    const damage = scan.damage;
    if (damage === undefined) return { outcome: 'intact', file, frames: scan.frames, events: scan.records };

    const report: RepairReport = {
      outcome: dryRun ? 'would_cut' : 'cut',
      file,
      offset: damage.offset,
      reason: damage.reason,
      keptFrames: scan.frames,
      keptEvents: scan.records,
      droppedBytes: damage.bytes,
      droppedFrames: damage.frames,
      droppedEvents: damage.records,
      undecodedBytes: damage.bytes - droppedFrameBytes,
      streams: [...streams.values()],
    };
    if (dryRun) return report;
    if (options.backup ?? true) report.backup = copyTail(handle, damage.offset, fileSize, file);
    ftruncateSync(handle, damage.offset);
    fsyncSync(handle);
    (options.fileSystem ?? nodeLogFileSystem).syncDirectory(dir);
    return report;
  } finally {
    closeSync(handle);
  }
}

/** Copies the bytes from `offset` on into a new file beside the log, synced; returns its path. */
function copyTail(handle: number, offset: number, fileSize: number, file: string): string {
  let path = `${file}.cut-${offset}`;
  for (let n = 2; existsSync(path); n++) path = `${file}.cut-${offset}-${n}`;
  const copy = openSync(path, 'wx');
  try {
    const buffer = Buffer.allocUnsafe(COPY_CHUNK);
    for (let at = offset; at < fileSize; ) {
      const n = readSync(handle, buffer, 0, Math.min(COPY_CHUNK, fileSize - at), at);
      if (n === 0) throw new Error(`${file} ended at ${at} while copying its tail`);
      for (let written = 0; written < n; ) written += writeSync(copy, buffer, written, n - written);
      at += n;
    }
    fsyncSync(copy);
  } finally {
    closeSync(copy);
  }
  return path;
}

const revisionText = (revision: number) => (revision === TOMBSTONE_REVISION ? 'tombstone' : `${revision}`);

/** The report as lines for an operator. */
export function formatRepairReport(report: RepairReport): string {
  if (report.outcome === 'intact') {
    return `event log ${report.file} is intact: ${plural(report.frames, 'frame')} (${plural(report.events, 'event')}); nothing to cut`;
  }
  const cut = report.outcome === 'cut';
  const lines = [
    `event log ${report.file}: ${cut ? 'cut' : 'would cut (dry run, nothing changed)'} at byte offset ${report.offset} (${report.reason})`,
    `  kept:    ${plural(report.keptFrames, 'frame')} (${plural(report.keptEvents, 'event')}) before the damage`,
    `  ${cut ? 'dropped' : 'to drop'}: ${plural(report.droppedBytes, 'byte')}: ${plural(report.droppedFrames, 'intact frame')} ` +
      `(${plural(report.droppedEvents, 'event')}) and ${plural(report.undecodedBytes, 'damaged byte')}`,
  ];
  if (report.backup !== undefined) lines.push(`  the dropped bytes are kept in ${report.backup}`);
  if (report.streams.length > 0) {
    lines.push('  dropped events by stream:');
    const shown = report.streams.slice(0, MAX_STREAMS_SHOWN);
    for (const s of shown) {
      const range =
        s.firstRevision === s.lastRevision
          ? `revision ${revisionText(s.firstRevision)}`
          : `revisions ${revisionText(s.firstRevision)}..${revisionText(s.lastRevision)}`;
      lines.push(`    ${s.stream}: ${plural(s.events, 'event')}, ${range}`);
    }
    if (report.streams.length > shown.length) {
      lines.push(`    … and ${report.streams.length - shown.length} more streams`);
    }
  }
  lines.push(
    `  new events will take positions from ${report.offset} on: a read model kept outside the event store ` +
      'that saw dropped events must be rebuilt once the service runs (npm run --silent cli -- projections rebuild --all)',
  );
  return lines.join('\n');
}
