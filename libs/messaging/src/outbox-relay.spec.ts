import { KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { brokerRefusalOf, relayMessageBytes } from './outbox-relay.js';

/** kafkajs's own error for a broker error code, as its produce response parser builds it. */
const protocolError = (type: string, code: number, retriable: boolean, message: string) =>
  new KafkaJSProtocolError({ type, code, retriable, message } as unknown as Error);

describe('brokerRefusalOf', () => {
  it('finds a refusal for good inside the wrappers kafkajs puts around it', () => {
    const tooLarge = protocolError(
      'MESSAGE_TOO_LARGE',
      10,
      false,
      'The request included a message larger than the max message size the server will accept',
    );
    // A non-retriable error is wrapped once by the producer's retrier…
    expect(brokerRefusalOf(Object.assign(new KafkaJSNonRetriableError(tooLarge), { cause: tooLarge }))).toBe(
      'MESSAGE_TOO_LARGE: The request included a message larger than the max message size the server will accept',
    );
    // …a retriable one (CORRUPT_MESSAGE) only after its retries ran out.
    const corrupt = protocolError('CORRUPT_MESSAGE', 2, true, 'This message has failed its CRC checksum');
    expect(
      brokerRefusalOf(new KafkaJSNumberOfRetriesExceeded(corrupt, { retryCount: 10, retryTime: 30_000 })),
    ).toBe('CORRUPT_MESSAGE: This message has failed its CRC checksum');
  });

  it('leaves errors of the moment to the retry with backoff', () => {
    const notLeader = protocolError('NOT_LEADER_FOR_PARTITION', 6, true, 'not the leader');
    expect(
      brokerRefusalOf(new KafkaJSNumberOfRetriesExceeded(notLeader, { retryCount: 10, retryTime: 30_000 })),
    ).toBeUndefined();
    expect(
      brokerRefusalOf(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    ).toBeUndefined();
    expect(brokerRefusalOf(undefined)).toBeUndefined();
  });
});

describe('relayMessageBytes', () => {
  it('counts key, value and headers in bytes (not characters) plus the framing allowance', () => {
    expect(relayMessageBytes({ id: '1', topic: 't', key: null, value: '', headers: {} })).toBe(64);
    // 清算 is 6 bytes in UTF-8; one header costs its name, value and 10.
    expect(
      relayMessageBytes({ id: '1', topic: 't', key: 'M00001', value: '清算', headers: { contract: 'x.v1' } }),
    ).toBe(64 + 6 + 6 + 10 + 8 + 4);
    expect(
      relayMessageBytes({ id: '1', topic: 't', key: null, value: Buffer.alloc(1_000), headers: {} }),
    ).toBe(1_064);
  });
});
