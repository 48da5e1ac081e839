import { exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, SignJWT } from 'jose';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * A local identity provider for development, the demo and the tests: an Ed25519 key pair under
 * `.cache/identity/` and short-lived tokens signed with it for named people. The services only
 * ever see the public key (HTTP_AUTH_JWT_PUBLIC_KEY_FILE), exactly as they would see a real
 * provider's; nothing here runs inside a service. Production tokens come from the platform's
 * identity provider (OIDC), never from this file's key.
 */
export interface DevIdentity {
  publicKeyFile: string;
  privateKeyFile: string;
  issuer: string;
  audience: string;
  algorithm: 'EdDSA';
}

export const DEV_IDENTITY_ISSUER = 'urn:cse:dev-identity';
export const DEV_IDENTITY_AUDIENCE = 'cse';
/** The default directory, relative to the working directory (the repository root for npm scripts). */
export const DEV_IDENTITY_DIR = '.cache/identity';

/** The key pair in `dir`, made on first use (private key readable by its owner only). */
export async function ensureDevIdentity(dir = DEV_IDENTITY_DIR): Promise<DevIdentity> {
  const identity: DevIdentity = {
    publicKeyFile: path.resolve(dir, 'public.pem'),
    privateKeyFile: path.resolve(dir, 'private.pem'),
    issuer: DEV_IDENTITY_ISSUER,
    audience: DEV_IDENTITY_AUDIENCE,
    algorithm: 'EdDSA',
  };
  try {
    await readFile(identity.publicKeyFile);
    await readFile(identity.privateKeyFile);
    return identity;
  } catch {
    // first use: make the pair below
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  // Written then renamed: two processes making the pair at once never leave half a key.
  const privateTmp = `${identity.privateKeyFile}.${process.pid}.tmp`;
  await writeFile(privateTmp, await exportPKCS8(privateKey), { mode: 0o600 });
  await chmod(privateTmp, 0o600);
  await rename(privateTmp, identity.privateKeyFile);
  const publicTmp = `${identity.publicKeyFile}.${process.pid}.tmp`;
  await writeFile(publicTmp, await exportSPKI(publicKey));
  await rename(publicTmp, identity.publicKeyFile);
  return identity;
}

/** The environment a service needs to trust the development identity's tokens. */
export function devIdentityEnv(identity: DevIdentity): Record<string, string> {
  return {
    HTTP_AUTH_JWT_PUBLIC_KEY_FILE: identity.publicKeyFile,
    HTTP_AUTH_JWT_ALGORITHM: identity.algorithm,
    HTTP_AUTH_JWT_ISSUER: identity.issuer,
    HTTP_AUTH_JWT_AUDIENCE: identity.audience,
  };
}

export interface TokenRequest {
  /** The principal, e.g. `finance.wang` (the token's sub). */
  sub: string;
  roles: readonly string[];
  /** For a merchant user: the merchant it may read (claim `merchant_id`). */
  merchantId?: string;
  /** Default 15 minutes; the services refuse anything beyond HTTP_AUTH_TOKEN_MAX_LIFETIME_S. */
  ttlSeconds?: number;
}

/** A token for one person, signed with the development identity's private key. */
export async function mintDevToken(identity: DevIdentity, request: TokenRequest): Promise<string> {
  const key = await importPKCS8(await readFile(identity.privateKeyFile, 'utf8'), identity.algorithm);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    roles: [...request.roles],
    ...(request.merchantId === undefined ? {} : { merchant_id: request.merchantId }),
  })
    .setProtectedHeader({ alg: identity.algorithm })
    .setSubject(request.sub)
    .setIssuer(identity.issuer)
    .setAudience(identity.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + (request.ttlSeconds ?? 15 * 60))
    .sign(key);
}
