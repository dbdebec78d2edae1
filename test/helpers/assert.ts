import assert from 'node:assert/strict';

/** A Management API error in Auth0's shape: {statusCode, error, message, errorCode}. */
export function assertError(r: { status: number; body: any }, status: number, message?: RegExp | string, errorCode?: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.statusCode, status);
  assert.equal(typeof r.body.error, 'string');
  assert.equal(typeof r.body.message, 'string');
  assert.equal(typeof r.body.errorCode, 'string', `errorCode in ${JSON.stringify(r.body)}`);
  if (typeof message === 'string') assert.equal(r.body.message, message);
  else if (message) assert.match(r.body.message, message);
  if (errorCode) assert.equal(r.body.errorCode, errorCode);
}
