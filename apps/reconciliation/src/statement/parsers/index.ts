import { AlipayParser, type AlipayOptions } from './alipay.parser.js';
import {
  GENERIC_CSV_DEFAULT_OPTIONS,
  GenericCsvParser,
  type GenericCsvOptions,
} from './generic-csv.parser.js';
import type { StatementFormat, StatementParse, StatementParser } from './statement-parser.js';
import { WechatAllParser, type WechatAllOptions } from './wechat-all.parser.js';

export * from './statement-parser.js';
export * from './generic-csv.parser.js';
export * from './wechat-all.parser.js';
export * from './alipay.parser.js';

export interface StatementParserOptionsByFormat {
  generic: GenericCsvOptions;
  'wechat-all': WechatAllOptions;
  alipay: AlipayOptions;
}

/** The parser for one statement format; options default to the layouts of the sample files. */
export function statementParserFor<F extends StatementFormat>(
  format: F,
  options?: StatementParserOptionsByFormat[F],
): StatementParser;
export function statementParserFor(
  format: StatementFormat,
  options?: StatementParserOptionsByFormat[StatementFormat],
): StatementParser {
  switch (format) {
    case 'generic':
      // The overload ties the options to the format; the implementation sees their union.
      return new GenericCsvParser((options as GenericCsvOptions | undefined) ?? GENERIC_CSV_DEFAULT_OPTIONS);
    case 'wechat-all':
      return new WechatAllParser(options ?? {});
    case 'alipay':
      return new AlipayParser(options ?? {});
  }
}

/** `statementParserFor(format, options).parse(source)`: iterate `lines()`, then read `summary()`. */
export function parseStatement<F extends StatementFormat>(
  source: AsyncIterable<Uint8Array>,
  format: F,
  options?: StatementParserOptionsByFormat[F],
): StatementParse {
  return statementParserFor(format, options).parse(source);
}
