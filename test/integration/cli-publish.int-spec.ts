/** `cse publish` against the real broker: all or nothing, naming the bad line and field. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TOPIC } from '@app/contracts';
import { publishCommand, UsageError } from '../../apps/cli/src/index.js';
import { readLines, SAMPLES_DIR, testKafka } from '../support/infra.js';

describe('cse publish (real Kafka)', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  const topic = `${process.env.KAFKA_TOPIC_PREFIX ?? ''}${TOPIC.paymentsTransactionV1}`;
  const messagesOnTopic = async () =>
    (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  // --json output goes to stdout; capture it instead of printing it into the test log.
  const realWrite = process.stdout.write.bind(process.stdout);
  let printed: string[] = [];

  beforeAll(async () => {
    await admin.connect();
  });
  afterAll(async () => {
    await admin.disconnect();
  });
  beforeEach(() => {
    printed = [];
    process.stdout.write = (chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    };
  });
  afterEach(() => {
    process.stdout.write = realWrite;
  });

  it('refuses a file with a bad line before sending anything, naming the line and the field', async () => {
    const lines = await readLines(path.join(SAMPLES_DIR, 'internal-events.jsonl'));
    const bad = lines.slice(0, 5);
    bad[2] = bad[2]!.replace(/"amount":"([\d.]+)"/, '"amount":$1');
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'cse-publish-')), 'bad.jsonl');
    await writeFile(file, `${bad.join('\n')}\n`);
    const before = await admin.listTopics().then((t) => (t.includes(topic) ? messagesOnTopic() : 0));

    const attempt = publishCommand({ file, json: true });
    await expect(attempt).rejects.toBeInstanceOf(UsageError);
    await expect(attempt).rejects.toThrow(
      new RegExp(`^${file}:3: amount: .*JSON number.*; nothing was published$`),
    );
    const after = await admin.listTopics().then((t) => (t.includes(topic) ? messagesOnTopic() : 0));
    expect(after).toBe(before);
  });

  it('publishes a valid file keyed by merchant and reports the count as JSON', async () => {
    const result = await publishCommand({
      file: path.join(SAMPLES_DIR, 'internal-events.jsonl'),
      json: true,
    });
    expect(result).toMatchObject({ topic, published: 36 });
    const output = JSON.parse(printed.at(-1) ?? '') as { published: number };
    expect(output.published).toBe(36);
  });
});
