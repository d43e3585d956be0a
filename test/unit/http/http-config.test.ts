import { describe, expect, it } from 'vitest';
import { DEFAULT_HTTP_PORT, daemonConfigFromEnv } from '../../../src/core/config.js';

const parse = (env: Record<string, string>) => daemonConfigFromEnv(env, { hostname: 'h', homeDir: '/home/u' });

describe('MN_HTTP_PORT and MN_LOG_LEVEL', () => {
  it('defaults to the dashboard port, optional to bind; a number must bind; 0 picks one; off disables', () => {
    expect(parse({}).config.http).toEqual({ port: DEFAULT_HTTP_PORT, required: false });
    expect(parse({ MN_HTTP_PORT: '8080' }).config.http).toEqual({ port: 8080, required: true });
    expect(parse({ MN_HTTP_PORT: '0' }).config.http).toEqual({ port: 0, required: true });
    expect(parse({ MN_HTTP_PORT: 'OFF' }).config.http).toEqual({ port: null, required: false });
    expect(parse({ MN_HTTP_PORT: ' ' }).config.http).toEqual({ port: DEFAULT_HTTP_PORT, required: false });
  });

  it('names the variable and the value it refuses', () => {
    for (const bad of ['70000', '-1', '80a', '1.5']) {
      expect(parse({ MN_HTTP_PORT: bad }).problems).toEqual([{ variable: 'MN_HTTP_PORT', message: `MN_HTTP_PORT must be a port between 0 and 65535 or "off", got ${JSON.stringify(bad)}` }]);
    }
    expect(parse({ MN_LOG_LEVEL: 'DEBUG' }).config.logLevel).toBe('debug');
    expect(parse({}).config.logLevel).toBe('info');
    expect(parse({ MN_LOG_LEVEL: 'verbose' }).problems).toEqual([{ variable: 'MN_LOG_LEVEL', message: 'MN_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"' }]);
  });
});
