// Shared test conditions. Under CI=true a missing prerequisite fails the test; elsewhere it skips,
// saying why.
import { execFileSync } from 'node:child_process';

export const inCI = process.env.CI === 'true';
export const isRoot = process.getuid?.() === 0;

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns true when the tests may run. Outside CI a missing prerequisite skips with a message;
 * under CI it throws, so a machine that cannot run them fails loudly.
 */
export function need(condition: boolean, why: string): boolean {
  if (condition) return true;
  if (inCI) throw new Error(`prerequisite missing under CI: ${why}`);
  console.warn(`skipping: ${why}`);
  return false;
}
