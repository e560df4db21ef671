/** The message a configuration refused at start gives (tests of src/config/). */
import { expect } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

/** The ConfigError message `env` produces; fails the test when `env` is accepted. */
export function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}
