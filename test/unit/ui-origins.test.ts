import { describe, expect, it } from 'vitest';
import { defaultUiOrigins } from '../../src/codec/ui-origins';

describe('the codec server default CORS origins', () => {
  it("follow TEMPORAL_UI (tidemark dev's --ui-port), a loopback host under both names", () => {
    expect(defaultUiOrigins('http://localhost:17434')).toEqual(['http://localhost:17434', 'http://127.0.0.1:17434']);
    expect(defaultUiOrigins('http://127.0.0.1:9000/namespaces/default')).toEqual(['http://127.0.0.1:9000', 'http://localhost:9000']);
    expect(defaultUiOrigins('https://temporal-ui.example.com/')).toEqual(['https://temporal-ui.example.com']);
  });

  it("are the dev server's UI without TEMPORAL_UI", () => {
    expect(defaultUiOrigins(undefined)).toEqual(['http://localhost:8233', 'http://127.0.0.1:8233']);
    expect(defaultUiOrigins('  ')).toEqual(['http://localhost:8233', 'http://127.0.0.1:8233']);
  });

  it('name a TEMPORAL_UI that is not an http(s) URL', () => {
    expect(() => defaultUiOrigins('localhost:8233')).toThrow(/TEMPORAL_UI must be an http\(s\) URL.*--ui-origin/);
    expect(() => defaultUiOrigins('not a url')).toThrow(/TEMPORAL_UI is not a URL/);
  });
});
