import { describe, expect, it } from 'vitest';
import { throwApiErrors } from '../../src/sources/http/api-errors';

const policy = { errors: 'errors', authErrors: ['UNAUTHENTICATED'], rateLimited: [], wait: [], skip: [] };
const check = (body: unknown) => () => throwApiErrors(body, policy, 'https://api.example.com/graphql', 'POST', (s) => s);

describe('responses.errors', () => {
  it('an empty value is no error: [], {}, "", 0, false, null, missing (an API that always sends the field)', () => {
    for (const errors of [[], {}, '', 0, false, null, undefined]) expect(check({ data: 1, errors })).not.toThrow();
  });

  it('anything else fails the run, naming it; a listed auth error fails as refused credentials', () => {
    expect(check({ errors: 'channel_not_found' })).toThrow('source.responses.errors: the API answered with errors: "channel_not_found" (POST https://api.example.com/graphql)');
    expect(check({ errors: [{ message: 'x' }] })).toThrow(/the API answered with errors: \[\{"message":"x"\}\]/);
    expect(check({ errors: [{ message: 'no', extensions: { code: 'UNAUTHENTICATED' } }] })).toThrow(expect.objectContaining({ name: 'ApiCredentialsRefusedError', message: expect.stringContaining('the API refuses the credentials: UNAUTHENTICATED') }));
  });
});
