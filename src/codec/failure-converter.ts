/**
 * The failure converter of an encrypting worker: messages and stack traces move into an encoded (so
 * encrypted) payload. Loaded by path (the worker also bundles it into the workflow sandbox), with
 * Node's plain require, so it is written as CommonJS that is valid TypeScript and JavaScript alike.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { DefaultFailureConverter } = require('@temporalio/common');
exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
