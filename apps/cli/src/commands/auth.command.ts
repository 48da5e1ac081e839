import { access } from 'node:fs/promises';
import path from 'node:path';
import {
  ALL_ROLES,
  DEV_IDENTITY_DIR,
  ensureDevIdentity,
  mintDevToken,
  normalizePrincipal,
  ROLE,
} from '@app/http';
import { emit, UsageError, type OutputOptions } from '../output.js';

export interface AuthTokenOptions extends OutputOptions {
  sub: string;
  role: string[];
  merchant?: string;
  ttl: string;
  identityDir?: string;
  createIdentity?: boolean;
}

export interface MintedToken {
  token: string;
  sub: string;
  roles: string[];
  merchantId: string | null;
  expiresAt: string;
  identity: string;
}

/**
 * Longest lifetime `auth token` mints: 1 hour, what the services accept by default
 * (HTTP_AUTH_TOKEN_MAX_LIFETIME_S); a development token is for a working session, not a day.
 */
export const MAX_TTL_SECONDS = 3600;

/**
 * `auth token --sub <id> --role <r> [--role …] [--merchant M] [--ttl 15m]`: a short-lived token
 * signed with the LOCAL DEVELOPMENT identity (`.cache/identity/`, libs/http dev-identity.ts), which
 * only services started with its public key (devIdentityEnv) accept. Development and demos only:
 * production tokens come from the platform's identity provider. Refuses when no key pair exists,
 * unless --create-identity (a new pair means restarting the services that trusted the old one).
 */
export async function authTokenCommand(options: AuthTokenOptions): Promise<MintedToken> {
  const sub = normalizePrincipal(options.sub);
  if (sub === null)
    throw new UsageError(
      `--sub must be a principal id (1 to 200 letters, digits or . _ : @ -), got "${options.sub}"`,
    );
  if (options.role.length === 0) throw new UsageError(`--role is required (one of ${ALL_ROLES.join(', ')})`);
  for (const role of options.role)
    if (!(ALL_ROLES as readonly string[]).includes(role))
      throw new UsageError(`--role must be one of ${ALL_ROLES.join(', ')}, got "${role}"`);
  const roles = [...new Set(options.role)];
  if (options.merchant !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(options.merchant))
    throw new UsageError(
      `--merchant must be a merchant id (1 to 64 letters, digits, _ or -), got "${options.merchant}"`,
    );
  if (roles.includes(ROLE.merchant) && options.merchant === undefined)
    throw new UsageError(
      `--role ${ROLE.merchant} needs --merchant <M>: a merchant user reads its own merchant only`,
    );
  const ttlSeconds = parseTtl(options.ttl);
  const dir = options.identityDir ?? DEV_IDENTITY_DIR;
  if (!options.createIdentity) {
    try {
      await access(path.join(dir, 'private.pem'));
    } catch {
      throw new UsageError(
        `no development identity in ${dir} (private.pem): pass --create-identity to make one ` +
          '(development only; services trust it through HTTP_AUTH_JWT_PUBLIC_KEY_FILE=' +
          `${path.join(dir, 'public.pem')}, HTTP_AUTH_JWT_ALGORITHM=EdDSA)`,
      );
    }
  }
  const identity = await ensureDevIdentity(dir);
  const token = await mintDevToken(identity, {
    sub,
    roles,
    ...(options.merchant === undefined ? {} : { merchantId: options.merchant }),
    ttlSeconds,
  });
  const minted: MintedToken = {
    token,
    sub,
    roles,
    merchantId: options.merchant ?? null,
    expiresAt: new Date(Date.now() + ttlSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    identity: identity.publicKeyFile,
  };
  if (!options.json)
    process.stderr.write(
      `development token for ${sub} (${roles.join(', ')}${minted.merchantId === null ? '' : `, merchant ${minted.merchantId}`}), ` +
        `expires ${minted.expiresAt}; signed by the local development identity, accepted only by services ` +
        `started with its public key. Use: export CSE_TOKEN=…\n`,
    );
  emit(options, minted, () => token);
  return minted;
}

/** `15m`, `900s`, `1h`, or plain seconds; 1 s to MAX_TTL_SECONDS (1 h). */
export function parseTtl(text: string): number {
  const match = /^(\d{1,6})(s|m|h)?$/.exec(text.trim());
  const seconds = match === null ? NaN : Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] ?? 's']!;
  if (!(seconds >= 1 && seconds <= MAX_TTL_SECONDS))
    throw new UsageError(`--ttl must be a duration like 15m, 900s or 1h, at most 1h, got "${text}"`);
  return seconds;
}
