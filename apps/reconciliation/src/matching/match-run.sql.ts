/**
 * The match run as SQL (ADR 007): the same rules as the pure `classify` (its header is the
 * specification), written so Postgres does one hash FULL JOIN over a day's items instead of Node
 * holding them. `classify` stays the reference: an integration test runs both on the same data.
 *
 * Named parameters (see `bind`): :channel, :date (business date D), :run (match run id), :file
 * (statement file id; null: no statement yet), :closesAt (D's cut-off instant), :window (cross-day
 * window, minutes), :grace (cross-day grace, days), :feeRate (expected fee rate; null: no check),
 * :paymentStatuses / :refundStatuses (success words), :previousRun (D−1's latest run; null: none),
 * :minorUnits (currency → minor unit, jsonb), :matchedAt (the run's instant).
 *
 * Two small statements run first, each into a temp table that is then ANALYZEd, because the
 * planner cannot estimate them and a bad guess sized the big join's hash for 500M rows: the
 * anonymous refund lines' keys (REFUND_KEYS_SQL) and the repeated lines (DUPLICATES_SQL).
 *
 * It writes every item of the run into match_item, one matched_item row per matched transaction
 * not marked before (its primary key makes "each once" hold across re-runs and discrepancy
 * resolutions; the matched-item relay publishes them as recon.item-matched.v1), and copies the few non-matched items, and the matched
 * items that close an open discrepancy, into the transaction's temp tables for the discrepancy
 * step. It returns one row: counts per class and per side, and how many items were emitted.
 */

/** Temp tables of one run (dropped at commit): small, only the non-matched and the re-matched. */
export const RUN_TEMP_TABLES_SQL = `
  CREATE TEMP TABLE run_unmatched (
    item_ref text NOT NULL, class text NOT NULL, side text NOT NULL, item_type text NOT NULL,
    internal_transaction_id bigint, event_id text, statement_file_id bigint, line_no int,
    merchant_id text, order_no text NOT NULL, refund_no text,
    internal_amount numeric, channel_amount numeric, currency char(3) NOT NULL,
    fee_difference numeric, reason text NOT NULL, business_date date NOT NULL
  ) ON COMMIT DROP;
  CREATE TEMP TABLE run_rematched (
    internal_transaction_id bigint, statement_file_id bigint, line_no int
  ) ON COMMIT DROP;
  CREATE TEMP TABLE run_refund_key (line_no int PRIMARY KEY, key text NOT NULL) ON COMMIT DROP;
  CREATE TEMP TABLE run_duplicate (line_no int PRIMARY KEY, paired_line_no int NOT NULL) ON COMMIT DROP`;

/**
 * `:name` placeholders → positional parameters, numbered per statement (Postgres must be able to
 * type every parameter a statement receives, so each gets only those it uses). `::type` casts are
 * left alone.
 */
export function bind(sql: string, values: Readonly<Record<string, unknown>>): [string, unknown[]] {
  const order: string[] = [];
  const text = sql.replace(/(?<!:):([a-z][A-Za-z]*)\b/g, (whole, name: string) => {
    if (!(name in values)) return whole;
    let index = order.indexOf(name);
    if (index === -1) index = order.push(name) - 1;
    return `$${index + 1}`;
  });
  return [text, order.map((name) => values[name])];
}

const KEY_OF_INTERNAL = `CASE it.event_type WHEN 'PAYMENT_SUCCEEDED' THEN 'PAYMENT|' || it.order_no
         ELSE 'REFUND|' || it.order_no || '|' || it.refund_no END`;

/** Only what classification and the discrepancy records read: the day is carried through a hash join. */
const INTERNAL_COLUMNS = `it.id, it.event_id, it.event_type, it.merchant_id, it.order_no, it.refund_no,
       it.amount, it.currency, it.occurred_at`;

/** Anonymous refund lines (no refund number) tied to our refunds: a few rows, planned on their own. */
export const REFUND_KEYS_SQL = `
-- Refund lines that name no refund number (the generic CSV has no such column) are tied to one
-- of our refunds of the same order that no line claims by number: same money first, in line
-- order against refund-number order, then whatever is left in the same orders.
-- (These read the base tables, not the CTEs above: a CTE read twice is materialised, and a day's
-- items are too many to copy for the sake of a few refunds.)
INSERT INTO run_refund_key (line_no, key)
WITH
anon AS MATERIALIZED (
  SELECT line_no, order_no, amount, currency FROM reconciliation.statement_line
  WHERE statement_file_id = :file::bigint AND type = 'REFUND' AND coalesce(refund_no, '') = ''
),
candidate AS MATERIALIZED (
  SELECT 'REFUND|' || it.order_no || '|' || it.refund_no AS key, it.order_no, it.refund_no, it.amount, it.currency
  FROM reconciliation.internal_transaction it
  WHERE it.event_type = 'REFUND_SUCCEEDED' AND it.channel = :channel
    AND (it.business_date = :date::date
         OR it.id IN (SELECT internal_transaction_id FROM reconciliation.match_item
                      WHERE match_run_id = :previousRun::bigint AND class = 'PENDING_CROSS_DAY'))
    AND it.order_no IN (SELECT order_no FROM anon)
    AND NOT EXISTS (SELECT 1 FROM reconciliation.statement_line l
                    WHERE l.statement_file_id = :file::bigint AND l.type = 'REFUND'
                      AND l.order_no = it.order_no AND l.refund_no = it.refund_no)
),
same_money AS (
  SELECT a.line_no, c.key
  FROM (SELECT line_no, order_no, amount, currency,
               row_number() OVER (PARTITION BY order_no, amount, currency ORDER BY line_no) AS r
        FROM anon) a
  JOIN (SELECT key, order_no, amount, currency,
               row_number() OVER (PARTITION BY order_no, amount, currency ORDER BY refund_no COLLATE "C") AS r
        FROM candidate) c
    ON c.order_no = a.order_no AND c.amount = a.amount AND c.currency = a.currency AND c.r = a.r
),
leftover AS (
  SELECT a.line_no, c.key
  FROM (SELECT line_no, order_no, row_number() OVER (PARTITION BY order_no ORDER BY line_no) AS r
        FROM anon WHERE line_no NOT IN (SELECT line_no FROM same_money)) a
  JOIN (SELECT key, order_no, row_number() OVER (PARTITION BY order_no ORDER BY refund_no COLLATE "C") AS r
        FROM candidate WHERE key NOT IN (SELECT key FROM same_money)) c
    ON c.order_no = a.order_no AND c.r = a.r
)
SELECT line_no, key FROM same_money UNION ALL SELECT line_no, key FROM leftover`;

/** The repeated lines of the file and the line each repeats (DUPLICATE), a few rows. */
export const DUPLICATES_SQL = `
-- DUPLICATE: a key on several lines keeps the line that agrees with our record (else the first)
-- paired, the others are duplicates. Keys are grouped by hash, and only the few repeated ones ranked.
-- Only lines with an explicit key can repeat one (an anonymous refund line is tied to at most
-- one of our refunds, and one of ours to at most one such line), so the repeated keys come
-- straight from the file, grouped by hash.
INSERT INTO run_duplicate (line_no, paired_line_no)
WITH
repeated AS MATERIALIZED (
  -- Grouped on the columns, not on a built key string: no string per line to hash.
  SELECT l.type, l.order_no, coalesce(l.refund_no, '') AS refund_no
  FROM reconciliation.statement_line l
  WHERE l.statement_file_id = :file::bigint AND (l.type = 'PAYMENT' OR coalesce(l.refund_no, '') <> '')
  GROUP BY 1, 2, 3 HAVING count(*) > 1
),
ranked AS (
  SELECT r.line_no,
         row_number() OVER w AS lrank,
         first_value(r.line_no) OVER w AS paired_line_no
  FROM (
    SELECT l.line_no, l.type, l.order_no, coalesce(l.refund_no, '') AS refund_no,
           (it.id IS NOT NULL AND l.currency = it.currency AND l.amount = it.amount
             AND l.status = ANY (CASE WHEN l.type = 'PAYMENT' THEN :paymentStatuses::text[] ELSE :refundStatuses::text[] END)) AS agrees
    FROM reconciliation.statement_line l
    -- One index probe per repeated line (a handful), never a join of the whole day.
    LEFT JOIN LATERAL (
      SELECT it.id, it.currency, it.amount
      FROM reconciliation.internal_transaction it
      WHERE it.channel = :channel
        AND it.event_type = CASE l.type WHEN 'PAYMENT' THEN 'PAYMENT_SUCCEEDED' ELSE 'REFUND_SUCCEEDED' END
        AND it.order_no = l.order_no
        AND coalesce(it.refund_no, '') = coalesce(l.refund_no, '')
        AND (it.business_date = :date::date
             OR it.id IN (SELECT internal_transaction_id FROM reconciliation.match_item
                          WHERE match_run_id = :previousRun::bigint AND class = 'PENDING_CROSS_DAY'))
      LIMIT 1
    ) it ON true
    -- A semi-join: the few repeated keys are hashed and the file's lines probe them. As a join,
    -- the planner (which cannot estimate the HAVING) hashed the whole file instead.
    WHERE l.statement_file_id = :file::bigint
      AND (l.type, l.order_no, coalesce(l.refund_no, '')) IN (SELECT type, order_no, refund_no FROM repeated)
  ) r
  WINDOW w AS (PARTITION BY r.type, r.order_no, r.refund_no ORDER BY r.agrees DESC, r.line_no)
)
SELECT line_no, paired_line_no FROM ranked WHERE lrank > 1`;

export const CLASSIFY_SQL = `
WITH
internal AS (
  SELECT ${INTERNAL_COLUMNS}, NULL::date AS carried_from, ${KEY_OF_INTERNAL} AS key
  FROM reconciliation.internal_transaction it
  WHERE it.channel = :channel AND it.business_date = :date::date
    AND it.event_type IN ('PAYMENT_SUCCEEDED', 'REFUND_SUCCEEDED')
  UNION ALL
  SELECT ${INTERNAL_COLUMNS}, it.business_date AS carried_from, ${KEY_OF_INTERNAL} AS key
  FROM reconciliation.match_item mi
  JOIN reconciliation.internal_transaction it ON it.id = mi.internal_transaction_id
  WHERE mi.match_run_id = :previousRun::bigint AND mi.class = 'PENDING_CROSS_DAY'
),
line AS (
  SELECT l.line_no, l.type, l.order_no, l.refund_no, l.amount, l.fee, l.currency, l.status,
         l.channel_txn_id AS line_channel_txn_id, l.trade_time AS line_trade_time,
         CASE WHEN l.type = 'PAYMENT' THEN 'PAYMENT|' || l.order_no
              WHEN coalesce(l.refund_no, '') <> '' THEN 'REFUND|' || l.order_no || '|' || l.refund_no
         END AS key
  FROM reconciliation.statement_line l
  WHERE l.statement_file_id = :file::bigint
),
keyed AS (
  SELECT l.*, coalesce(l.key, r.key, 'REFUND?|' || l.order_no || '|line ' || l.line_no) AS rkey,
         (l.key IS NULL AND r.key IS NULL) AS unresolved
  FROM line l LEFT JOIN run_refund_key r ON l.key IS NULL AND r.line_no = l.line_no
),
joined AS (
  SELECT k.line_no, k.type, k.order_no AS line_order_no, k.refund_no AS line_refund_no,
         k.amount AS line_amount, k.fee, k.currency AS line_currency, k.status, k.unresolved,
         k.line_channel_txn_id, k.line_trade_time,
         coalesce(k.rkey, i.key) AS rkey,
         i.id, i.event_id, i.event_type, i.merchant_id, i.order_no, i.refund_no, i.amount, i.currency,
         i.occurred_at, i.carried_from,
         (k.line_no IS NOT NULL AND i.id IS NOT NULL
           AND k.status = ANY (CASE WHEN i.event_type = 'PAYMENT_SUCCEEDED' THEN :paymentStatuses::text[] ELSE :refundStatuses::text[] END)
         ) AS status_ok,
         (k.line_no IS NOT NULL AND i.id IS NOT NULL AND k.currency = i.currency AND k.amount = i.amount) AS money_ok
  FROM keyed k FULL JOIN internal i ON i.key = k.rkey
),
classified AS (
  SELECT j.*,
         CASE
           WHEN j.line_no IS NULL THEN
             CASE
               WHEN j.carried_from IS NOT NULL THEN
                 CASE WHEN :date::date - j.carried_from >= :grace::int THEN 'MISSING_IN_CHANNEL' ELSE 'PENDING_CROSS_DAY' END
               WHEN :grace::int > 0 AND :closesAt::timestamptz - j.occurred_at <= make_interval(mins => :window::int) THEN 'PENDING_CROSS_DAY'
               ELSE 'MISSING_IN_CHANNEL'
             END
           WHEN d.line_no IS NOT NULL THEN 'DUPLICATE'
           WHEN j.id IS NULL THEN 'MISSING_INTERNAL'
           WHEN NOT j.status_ok THEN 'STATUS_MISMATCH'
           WHEN NOT j.money_ok THEN 'AMOUNT_MISMATCH'
           ELSE 'MATCHED'
         END AS class,
         d.paired_line_no,
         CASE WHEN j.fee IS NOT NULL AND :feeRate::numeric IS NOT NULL THEN
           j.fee - (CASE WHEN j.type = 'REFUND' THEN -1 ELSE 1 END)
                   * round(j.line_amount * :feeRate::numeric, (:minorUnits::jsonb ->> j.line_currency::text)::int)
         END AS fee_diff
  FROM joined j LEFT JOIN run_duplicate d ON d.line_no = j.line_no
),
item AS (
  SELECT c.*,
         CASE WHEN c.class = 'DUPLICATE' OR c.id IS NULL THEN 'CHANNEL'
              WHEN c.line_no IS NULL THEN 'INTERNAL' ELSE 'BOTH' END AS side,
         -- A duplicate line is only the channel's: our item belongs to the row it is paired in.
         CASE WHEN c.class = 'DUPLICATE' THEN NULL ELSE c.id END AS own_id,
         nullif(c.fee_diff, 0) AS fee_difference
  FROM classified c
),
described AS (
  SELECT i.*,
         -- Text only for what a person will read: a matched item needs none (most of a day).
         CASE WHEN i.class = 'MATCHED' THEN NULL WHEN i.side = 'CHANNEL' THEN 'line:' || :file::bigint || ':' || i.line_no
              ELSE 'txn:' || i.own_id END AS item_ref,
         CASE WHEN i.class <> 'MATCHED' THEN
           'line ' || i.line_no || ' ' || i.type || ' ' || i.line_amount || ' ' || i.line_currency || ' ' || i.status
         END AS line_text,
         CASE WHEN i.class <> 'MATCHED' THEN
           'our ' || CASE WHEN i.event_type = 'PAYMENT_SUCCEEDED' THEN 'payment ' ELSE 'refund ' END
           || i.amount || ' ' || i.currency || ' (' || i.rkey || ')'
         END AS our_text,
         CASE WHEN i.carried_from IS NULL OR i.class = 'MATCHED' THEN ''
              ELSE ' (our business date ' || i.carried_from || ', on ' || :date::date || '''s statement)' END AS carried_text
  FROM item i
),
reasoned AS MATERIALIZED (
  SELECT d.*,
         CASE d.class
           WHEN 'MATCHED' THEN NULL
           WHEN 'DUPLICATE' THEN d.line_text || ' repeats '
             || CASE WHEN d.type = 'PAYMENT' THEN 'order ' || d.line_order_no
                     ELSE 'refund ' || coalesce(d.line_refund_no, 'of order ' || d.line_order_no) END
             || ' already on line ' || d.paired_line_no
           WHEN 'MISSING_INTERNAL' THEN
             CASE WHEN d.unresolved THEN d.line_text || ' names no refundNo and none of our refunds of order '
                    || d.line_order_no || ' is left to pair it with'
                  ELSE d.line_text || ' has no ' || lower(d.type) || ' of ours' END
           WHEN 'PENDING_CROSS_DAY' THEN
             CASE WHEN d.carried_from IS NOT NULL THEN d.our_text || ' of ' || d.carried_from
                    || ' is not on ' || :date::date || '''s statement yet (grace ' || :grace::int || ' day(s), '
                    || (:date::date - d.carried_from) || ' elapsed)'
                  ELSE d.our_text || ' at ' || to_char(d.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                    || ' is ' || ceil(extract(epoch FROM :closesAt::timestamptz - d.occurred_at))::bigint
                    || 's before the cut-off (window ' || :window::int || ' min); expected on a later statement' END
           WHEN 'MISSING_IN_CHANNEL' THEN
             CASE WHEN d.carried_from IS NOT NULL THEN d.our_text || ' of ' || d.carried_from
                    || ' is on no statement up to ' || :date::date || ' (grace ' || :grace::int || ' day(s) elapsed)'
                  ELSE d.our_text || ' is not on the channel''s statement of ' || :date::date END
           ELSE concat_ws('; ',
                  CASE WHEN NOT d.status_ok THEN 'status ' || d.status || ' (channel) ≠ succeeded (ours)' END,
                  CASE WHEN d.currency <> d.line_currency THEN 'currency ' || d.currency || ' (ours) ≠ ' || d.line_currency || ' (channel)'
                       WHEN d.amount <> d.line_amount THEN 'amount ' || d.amount || ' (ours) ≠ ' || d.line_amount || ' (channel)' END)
                || d.carried_text
         END
         || CASE WHEN d.class <> 'MATCHED' AND d.fee_difference IS NOT NULL
              THEN '; fee ' || d.fee || ' (channel) ≠ ' || (d.fee - d.fee_difference) || ' expected at rate ' || :feeRate::numeric
              ELSE '' END AS reason
  FROM described d
),
items AS (
  INSERT INTO reconciliation.match_item
    (match_run_id, class, side, match_key, internal_transaction_id, event_id, statement_file_id, line_no,
     order_no, refund_no, reason, fee_difference, original_business_date)
  SELECT :run::bigint, r.class, r.side, CASE WHEN r.class = 'MATCHED' THEN NULL ELSE r.rkey END,
         r.own_id, CASE WHEN r.own_id IS NULL THEN NULL ELSE r.event_id END,
         CASE WHEN r.line_no IS NULL THEN NULL ELSE :file::bigint END, r.line_no,
         coalesce(CASE WHEN r.own_id IS NULL THEN NULL ELSE r.order_no END, r.line_order_no),
         CASE WHEN r.own_id IS NULL THEN r.line_refund_no ELSE r.refund_no END,
         r.reason, r.fee_difference, r.carried_from
  FROM reasoned r
),
unmatched AS (
  INSERT INTO run_unmatched
  SELECT r.item_ref, r.class, r.side,
         CASE WHEN r.own_id IS NULL THEN r.type
              WHEN r.event_type = 'PAYMENT_SUCCEEDED' THEN 'PAYMENT' ELSE 'REFUND' END,
         r.own_id, CASE WHEN r.own_id IS NULL THEN NULL ELSE r.event_id END,
         CASE WHEN r.line_no IS NULL THEN NULL ELSE :file::bigint END, r.line_no,
         CASE WHEN r.own_id IS NULL THEN NULL ELSE r.merchant_id END,
         coalesce(CASE WHEN r.own_id IS NULL THEN NULL ELSE r.order_no END, r.line_order_no),
         CASE WHEN r.own_id IS NULL THEN r.line_refund_no ELSE r.refund_no END,
         CASE WHEN r.own_id IS NULL THEN NULL ELSE r.amount END, r.line_amount,
         coalesce(CASE WHEN r.own_id IS NULL THEN NULL ELSE r.currency END, r.line_currency),
         r.fee_difference, r.reason, coalesce(r.carried_from, :date::date)
  FROM reasoned r
  WHERE r.class NOT IN ('MATCHED', 'PENDING_CROSS_DAY')
),
rematched AS (
  INSERT INTO run_rematched
  SELECT r.own_id, :file::bigint, r.line_no
  FROM reasoned r
  WHERE r.class = 'MATCHED'
    AND (r.own_id IN (SELECT internal_transaction_id FROM reconciliation.discrepancy
                      WHERE channel = :channel AND status = 'OPEN' AND internal_transaction_id IS NOT NULL)
         OR (:file::bigint, r.line_no) IN (SELECT statement_file_id, line_no FROM reconciliation.discrepancy
                                       WHERE channel = :channel AND status = 'OPEN' AND statement_file_id IS NOT NULL))
),
marked AS (
  -- The mark (对平标记) that also drives emission: one row per matched transaction, ever.
  INSERT INTO reconciliation.matched_item
    (internal_transaction_id, channel, matched_by, match_run_id, statement_file_id, line_no, matched_at,
     line_amount, line_fee, line_channel_txn_id, line_trade_time)
  SELECT r.own_id, :channel, 'MATCH_RUN', :run::bigint, :file::bigint, r.line_no, :matchedAt::timestamptz,
         r.line_amount, r.fee, r.line_channel_txn_id, r.line_trade_time
  FROM reasoned r
  WHERE r.class = 'MATCHED'
    AND NOT EXISTS (SELECT 1 FROM reconciliation.matched_item m WHERE m.internal_transaction_id = r.own_id)
  ORDER BY r.own_id
  RETURNING 1
)
SELECT (SELECT json_object_agg(class, n) FROM (SELECT class, count(*) AS n FROM reasoned GROUP BY class) c) AS counts,
       (SELECT count(*) FROM reasoned WHERE own_id IS NOT NULL) AS internal_out,
       (SELECT count(*) FROM reasoned WHERE line_no IS NOT NULL) AS lines_out,
       (SELECT count(*) FROM marked) AS emitted`;

/** What the run must account for, read in the run's snapshot before it classifies. */
export const ITEMS_IN_SQL = `
SELECT (SELECT count(*) FROM reconciliation.internal_transaction it
        WHERE it.channel = :channel AND it.business_date = :date::date
          AND it.event_type IN ('PAYMENT_SUCCEEDED', 'REFUND_SUCCEEDED'))
     + (SELECT count(*) FROM reconciliation.match_item
        WHERE match_run_id = :previousRun::bigint AND class = 'PENDING_CROSS_DAY') AS internal_in,
       (SELECT line_count FROM reconciliation.statement_file WHERE id = :file::bigint) AS lines_in`;
