import { Logger } from '@nestjs/common';
import type { HttpAuthConfig } from '@app/platform';
import { errors, importSPKI, jwtVerify, type CryptoKey, type JWTVerifyOptions, type KeyObject } from 'jose';
import { ApiError } from './api-error.js';
import { ALL_ROLES, normalizePrincipal, rolesOfClaim, ROLE, type Principal } from './principal.js';

/** Nest injection token of a service's CallerIdentity. */
export const CALLER_IDENTITY = Symbol('CALLER_IDENTITY');

export const AUTH_UNAUTHENTICATED = 'AUTH.UNAUTHENTICATED';
export const AUTH_PRINCIPAL_MISMATCH = 'AUTH.PRINCIPAL_MISMATCH';
export const AUTH_FORBIDDEN = 'AUTH.FORBIDDEN';

/** A token is checked with this much leeway on exp/nbf/iat: clocks of two hosts never agree exactly. */
const CLOCK_TOLERANCE_S = 30;
/** A merchant claim is a merchant id, nothing else (it ends up in SQL parameters and file names). */
const MERCHANT_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** RFC 6750 §2.1: the scheme is case-insensitive; the token is a b64token. */
const BEARER = /^bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

/** Development mode only: who a request is, from these headers (no signature: loopback only). */
export const DEV_PRINCIPAL_HEADER = 'x-cse-principal';
export const DEV_MERCHANT_HEADER = 'x-cse-merchant';

/**
 * How the services know who is calling (ADR 011).
 *
 * - TOKEN: `Authorization: Bearer <JWT>` signed by the identity provider (HS256 with a shared
 *   secret, or RS256/PS256/ES256/EdDSA with its public key), with `sub`, `iat` and `exp`, a
 *   lifetime (exp − iat) no longer than the configured maximum, the configured issuer and
 *   audience. The principal is the normalised `sub`, its roles the roles claim, its merchant the
 *   merchant claim.
 * - DEVELOPMENT (AUTH_MODE=development, loopback only; config refuses it elsewhere): the caller is
 *   named by the X-CSE-Principal header (default `developer`) and holds every staff role, or with
 *   X-CSE-Merchant only the merchant role for that merchant. Nothing is signed: anyone on the host
 *   is anyone, which is why it never listens beyond loopback.
 */
export class CallerIdentity {
  private readonly logger = new Logger('CallerIdentity');

  private constructor(
    readonly mode: 'TOKEN' | 'DEVELOPMENT',
    private readonly key: Uint8Array | CryptoKey | KeyObject | null,
    private readonly verifyOptions: JWTVerifyOptions,
    private readonly claims: { roles: string; merchant: string; maxLifetimeS: number },
  ) {}

  static async fromConfig(config: HttpAuthConfig, service: string): Promise<CallerIdentity> {
    if (config.mode === 'DEVELOPMENT') {
      new Logger('CallerIdentity').warn(
        `${service}: AUTH_MODE=development — callers are whoever the ${DEV_PRINCIPAL_HEADER} header says, ` +
          'with every role; this listens on loopback only and must never serve real users',
      );
      return new CallerIdentity('DEVELOPMENT', null, {}, { roles: '', merchant: '', maxLifetimeS: 0 });
    }
    const common: JWTVerifyOptions = {
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['sub', 'exp', 'iat'],
      ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
      ...(config.audience === undefined ? {} : { audience: config.audience }),
    };
    const claims = {
      roles: config.rolesClaim,
      merchant: config.merchantClaim,
      maxLifetimeS: config.tokenMaxLifetimeS,
    };
    if (config.jwtSecret !== undefined)
      return new CallerIdentity(
        'TOKEN',
        new TextEncoder().encode(config.jwtSecret),
        { ...common, algorithms: ['HS256'] },
        claims,
      );
    const algorithm = config.jwtAlgorithm ?? 'RS256';
    return new CallerIdentity(
      'TOKEN',
      await importSPKI(config.jwtPublicKey!, algorithm),
      { ...common, algorithms: [algorithm] },
      claims,
    );
  }

  /**
   * The authenticated principal of a request.
   * @param headers the request's headers (lower-case names, as Node gives them)
   * @throws ApiError 401 AUTH.UNAUTHENTICATED naming why (missing, expired, signature, lifetime, …)
   */
  async authenticate(headers: Record<string, string | string[] | undefined>): Promise<Principal> {
    if (this.mode === 'DEVELOPMENT') return developmentPrincipal(headers);
    const authorization = headers.authorization;
    const token = typeof authorization === 'string' ? BEARER.exec(authorization)?.[1] : undefined;
    if (token === undefined)
      throw new ApiError(
        401,
        AUTH_UNAUTHENTICATED,
        'a bearer token is required (Authorization: Bearer <JWT>)',
      );
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.key!, this.verifyOptions));
    } catch (error) {
      throw new ApiError(401, AUTH_UNAUTHENTICATED, `the bearer token was not accepted: ${describe(error)}`);
    }
    const { exp, iat } = payload as { exp: number; iat: number };
    const nowS = Date.now() / 1000;
    // A token is a bearer instrument: one that lives for a year is a password nobody can revoke.
    if (exp - iat > this.claims.maxLifetimeS || iat > nowS + CLOCK_TOLERANCE_S)
      throw new ApiError(
        401,
        AUTH_UNAUTHENTICATED,
        `the bearer token was not accepted: it lives ${Math.round(exp - iat)} s from iat to exp, ` +
          `longer than HTTP_AUTH_TOKEN_MAX_LIFETIME_S (${this.claims.maxLifetimeS} s), or was issued in the future`,
      );
    const id = typeof payload.sub === 'string' ? normalizePrincipal(payload.sub) : null;
    if (id === null)
      throw new ApiError(401, AUTH_UNAUTHENTICATED, 'the bearer token names no usable principal (sub)');
    const merchant = payload[this.claims.merchant];
    return {
      id,
      roles: rolesOfClaim(payload[this.claims.roles]),
      merchantId: typeof merchant === 'string' && MERCHANT_ID.test(merchant) ? merchant : null,
    };
  }

  /** A refusal is a security event: monitoring counts and alerts on these lines. */
  logRefusal(what: string, error: ApiError): void {
    this.logger.warn(`refused ${what}: ${error.code}: ${error.message}`);
  }
}

function developmentPrincipal(headers: Record<string, string | string[] | undefined>): Principal {
  const named = headers[DEV_PRINCIPAL_HEADER];
  const id = typeof named === 'string' ? normalizePrincipal(named) : 'developer';
  if (id === null)
    throw new ApiError(401, AUTH_UNAUTHENTICATED, `${DEV_PRINCIPAL_HEADER}: not a usable principal id`);
  const merchant = headers[DEV_MERCHANT_HEADER];
  if (typeof merchant === 'string' && MERCHANT_ID.test(merchant))
    return { id, roles: [ROLE.merchant], merchantId: merchant };
  return { id, roles: ALL_ROLES.filter((role) => role !== ROLE.merchant), merchantId: null };
}

/**
 * A command body may still name its caller (`by`, `actor`: clients written against the first API
 * keep working). Equal to the principal under the one normalisation it is accepted; anything else
 * is refused: nobody acts in someone else's name.
 * @throws ApiError 403 AUTH.PRINCIPAL_MISMATCH
 */
export function assertActingAs(principal: Principal, declared: string | undefined, field: string): void {
  if (declared === undefined || normalizePrincipal(declared) === principal.id) return;
  throw new ApiError(
    403,
    AUTH_PRINCIPAL_MISMATCH,
    `the token is ${principal.id}'s but ${field} says "${declared}"; nobody acts in someone else's name`,
  );
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'it has expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `claim ${error.claim} ${error.reason}`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'its signature does not verify';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'its algorithm is not the configured one';
  return 'it is malformed';
}
