// Counts the suite's results (jest --json), leaving out the tests listed in not-applicable.json.
import { readFileSync } from 'node:fs';

const [resultsFile, listFile] = process.argv.slice(2);
const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
const list = JSON.parse(readFileSync(listFile, 'utf8'));
const counts = { passed: 0, failed: 0, skipped: 0 };
const failures = [];
const excluded = [];
for (const file of results.testResults) {
  const path = file.name.replace(/^.*\/packages\/test\/src\//, '');
  if (file.assertionResults.length === 0 && file.status === 'failed') {
    failures.push(`${path}: ${file.message.split('\n').find((line) => line.trim() !== '') ?? 'failed'}`);
    counts.failed++;
  }
  for (const test of file.assertionResults) {
    const name = `${path} › ${test.fullName}`;
    const reason = list.tests[name];
    if (reason !== undefined) {
      // A failure shows the assertion it stopped at, so it can be checked against the reason.
      const failure = test.failureMessages[0]?.split('\n').find((line) => /expect|Error/.test(line));
      excluded.push(`${name} [${test.status}${failure ? `: ${failure.trim()}` : ''}]: ${reason}`);
      continue;
    }
    if (test.status === 'passed') counts.passed++;
    else if (test.status === 'failed') {
      counts.failed++;
      failures.push(name);
    } else counts.skipped++;
  }
}
console.log(`not applicable (run, not counted): ${excluded.length}`);
for (const line of excluded) console.log(`  ${line}`);
console.log(`files not run: ${Object.keys(list.files).length} (see not-applicable.json)`);
for (const line of failures) console.log(`FAILED ${line}`);
console.log(`suite: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
