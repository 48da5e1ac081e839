import { isTransientDatabaseError } from './transient-error.js';

describe('isTransientDatabaseError', () => {
  it.each([
    [
      'connection refused',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    ],
    [
      'admin shutdown',
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    ],
    ['serialization failure', Object.assign(new Error('could not serialize access'), { code: '40001' })],
    ['deadlock', Object.assign(new Error('deadlock detected'), { code: '40P01' })],
    ['too many connections', Object.assign(new Error('sorry, too many clients already'), { code: '53300' })],
    ['connection exception class 08', Object.assign(new Error('connection failure'), { code: '08006' })],
    ['pool lost its connection', new Error('Connection terminated unexpectedly')],
    ['wrapped by TypeORM', Object.assign(new Error('query failed'), { driverError: { code: '57P01' } })],
    ['as a cause', new Error('outer', { cause: Object.assign(new Error('inner'), { code: 'ECONNRESET' }) })],
  ])('%s is transient', (_label, error) => {
    expect(isTransientDatabaseError(error)).toBe(true);
  });

  it.each([
    ['unique violation', Object.assign(new Error('duplicate key'), { code: '23505' })],
    ['check violation', Object.assign(new Error('violates check constraint'), { code: '23514' })],
    ['syntax error', Object.assign(new Error('syntax error at or near'), { code: '42601' })],
    ['invalid numeric', Object.assign(new Error('invalid input syntax for type numeric'), { code: '22P02' })],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['not an error at all', 'nope'],
    ['null', null],
  ])('%s is permanent', (_label, error) => {
    expect(isTransientDatabaseError(error)).toBe(false);
  });
});
