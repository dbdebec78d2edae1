// One error type for the whole server: the Management API renders it as
// {statusCode,error,message,errorCode}, the OAuth layer as {error,error_description}.
const reasons: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  409: 'Conflict', 410: 'Gone', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 429: 'Too Many Requests', 500: 'Internal Server Error',
};

export class ApiError extends Error {
  constructor(public statusCode: number, message: string, public errorCode?: string, public extra?: Record<string, unknown>) {
    super(message);
  }
  get error() { return reasons[this.statusCode] ?? 'Error'; }
  toJSON() {
    return { statusCode: this.statusCode, error: this.error, message: this.message, ...(this.errorCode ? { errorCode: this.errorCode } : {}), ...this.extra };
  }
}

export const badRequest = (message: string, errorCode = 'invalid_body') => new ApiError(400, message, errorCode);
export const invalidQuery = (message: string) => new ApiError(400, message, 'invalid_query_string');
/** A query parameter the spec marks required (the query schema checks types only). */
export function requireQuery(query: Record<string, unknown>, name: string) {
  if (query[name] === undefined || query[name] === '') throw invalidQuery(`Query validation error: 'Missing required property: ${name}'.`);
}
export const notFound = (message: string, errorCode = 'inexistent_resource') => new ApiError(404, message, errorCode);
export const conflict = (message: string, errorCode = 'conflict') => new ApiError(409, message, errorCode);

/** Thrown by the store when a unique constraint rejects a write. */
export class UniqueViolation extends Error {}

/** A read-modify-write that kept losing to other writers; the caller may retry. */
export class ConcurrentWrites extends ApiError {
  constructor() { super(409, 'The resource was changed by concurrent requests; retry.', 'conflict'); }
}
