import { InvariantError, MoneyError, TimeError, describeValue, invariant } from './errors.js';

describe('errors', () => {
  it('operating errors carry a stable code; invariant violations do not', () => {
    const money = new MoneyError('MONEY.MALFORMED', 'bad');
    expect(money).toBeInstanceOf(Error);
    expect(money.name).toBe('MoneyError');
    expect(money.code).toBe('MONEY.MALFORMED');
    expect(new TimeError('TIME.INVALID_ZONE', 'bad').name).toBe('TimeError');
    expect(new InvariantError('bug')).not.toHaveProperty('code');
  });

  it('invariant throws an InvariantError and builds a lazy message only when it fails', () => {
    let calls = 0;
    const message = () => {
      calls++;
      return 'broken';
    };
    invariant(true, message);
    expect(calls).toBe(0);
    expect(() => invariant(false, message)).toThrow(new InvariantError('broken'));
    expect(calls).toBe(1);
    expect(() => invariant(0, 'zero')).toThrow(InvariantError);
  });

  it('describeValue names a value without flooding a log line', () => {
    expect(describeValue('1.005')).toBe('"1.005"');
    expect(describeValue('x'.repeat(100))).toBe(`"${'x'.repeat(64)}…"`);
    expect(describeValue(239.54)).toBe('239.54');
    expect(describeValue(null)).toBe('null');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue(2n)).toBe('2n');
    expect(describeValue([1])).toBe('an array');
    expect(describeValue({ a: 1 })).toBe('an object');
    expect(describeValue(() => 1)).toBe('a function');
  });
});
