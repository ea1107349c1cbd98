import { describe, expect, it } from 'vitest';
import {
  HuaweiApiError,
  HuaweiAuthError,
  HuaweiBadRequestError,
  HuaweiBusyError,
  HuaweiNotFoundError,
  HuaweiServerError,
  HuaweiThrottledError,
} from '../../lib/huawei/errors.ts';

const context = { service: 'dds', operation: 'dds.deleteBackup' } as const;

describe('HuaweiApiError.fromResponse', () => {
  it.each([
    [404, undefined, HuaweiNotFoundError],
    [400, 'CSBS.3001', HuaweiNotFoundError],
    [400, 'DBS.201502', HuaweiNotFoundError],
    [429, 'APIG.0308', HuaweiThrottledError],
    [400, 'CSBS.2003', HuaweiBusyError],
    [403, 'DBS.200019', HuaweiBusyError],
    [401, 'APIG.0301', HuaweiAuthError],
    [403, 'APIG.0302', HuaweiAuthError],
    [400, '6201', HuaweiBadRequestError],
    [503, undefined, HuaweiServerError],
  ])('maps HTTP %i with code %s to %o', (status, errorCode, expected) => {
    const error = HuaweiApiError.fromResponse({ ...context, status, errorCode });
    expect(error).toBeInstanceOf(expected);
    expect(error.status).toBe(status);
  });

  it('keeps a busy database (403 DBS.200019) from reading as wrong credentials', () => {
    const error = HuaweiApiError.fromResponse({ ...context, status: 403, errorCode: 'DBS.200019' });
    expect(error.code).toBe('BUSY');
  });
});
