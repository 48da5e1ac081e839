import {
  applyDecorators,
  createParamDecorator,
  Inject,
  Injectable,
  Logger,
  SetMetadata,
  type CallHandler,
  type CanActivate,
  type ExecutionContext,
  type NestInterceptor,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModuleRef, Reflector } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { catchError, from, mergeMap, type Observable } from 'rxjs';
import { ApiError, toApiErrorBody, type DomainErrorMapper } from './api-error.js';
import { AUTH_FORBIDDEN, CALLER_IDENTITY, CallerIdentity } from './caller-identity.js';
import { decideAccess, type AccessRule, type Principal, type Role } from './principal.js';

/**
 * One enforcement point for who may call what (ADR 011): every route declares its rule with
 * `@Access.public()`, `@Access.command(role, action)` or `@Access.read()`; a global guard
 * authenticates the caller and applies the rule before any pipe validates a body and before any
 * interceptor reads an upload; a route without a rule stops the service at boot.
 */
const ACCESS_RULE = 'cse:access-rule';
const AUDIT_TARGET = 'cse:audit-target';

/** What a command's audit row names as its target, from the request once the handler has run. */
export type AuditTargetOf = (request: AccessRequest) => string | null;

export const Access = {
  /** No token: liveness, readiness. */
  public: () => SetMetadata(ACCESS_RULE, { kind: 'PUBLIC' } satisfies AccessRule),
  /**
   * A state change: the token must hold `role`; the command and its outcome are audited as
   * `action` (e.g. STATEMENT_IMPORT) on the target `target` names (default: the `:id` parameter).
   */
  command: (role: Role, action: string, targetOf?: AuditTargetOf) =>
    applyDecorators(
      SetMetadata(ACCESS_RULE, { kind: 'COMMAND', role, action } satisfies AccessRule),
      ...(targetOf === undefined ? [] : [SetMetadata(AUDIT_TARGET, targetOf)]),
    ),
  /**
   * A read: finance (`finance.read`), or with `merchantScoped` also a merchant user, whom the
   * handler then answers only about its own merchant (`merchantScopeOf`), 404 for anything else.
   */
  read: (options: { merchantScoped?: boolean } = {}) =>
    SetMetadata(ACCESS_RULE, {
      kind: 'READ',
      merchantScoped: options.merchantScoped === true,
    } satisfies AccessRule),
};

/** The request as the access layer sees and marks it. */
export interface AccessRequest {
  method: string;
  originalUrl?: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  params?: Record<string, string>;
  body?: unknown;
  principal?: Principal;
  requestId?: string;
}

/** One row of a service's append-only command audit (who, role, what, target, request, outcome). */
export interface CommandAuditEntry {
  principal: string | null;
  roles: readonly string[];
  action: string;
  target: string | null;
  requestId: string;
  outcome: 'APPLIED' | 'REFUSED' | 'FAILED';
  httpStatus: number;
  code: string | null;
  detail: string | null;
}

/** Where a service keeps its audit rows (its own schema's command_audit table). */
export interface CommandAuditSink {
  append(entry: CommandAuditEntry): Promise<void>;
}
export const COMMAND_AUDIT_SINK = Symbol('COMMAND_AUDIT_SINK');

/**
 * A service's domain error mapper (the one its ApiErrorsFilter answers with), provided by its HTTP
 * module: the audit records the status and code the caller was answered, not an internal class.
 */
export const DOMAIN_ERROR_MAPPER = Symbol('DOMAIN_ERROR_MAPPER');

/** The authenticated principal of the request (set by the access guard). */
export const Caller = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AccessRequest>().principal;
  // A handler asking for its caller on a PUBLIC route is a programming error, not a 401.
  if (principal === undefined) throw new Error('@Caller() on a route without an authenticated caller');
  return principal;
});

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

function requestIdOf(request: AccessRequest): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

function routeOf(request: AccessRequest): string {
  return `${request.method} ${(request.originalUrl ?? request.url).split('?')[0]}`;
}

/**
 * The global guard: finds the route's rule, authenticates the caller (401), applies the rule
 * (403), and for commands and every refusal appends the audit row. Runs before pipes (a body is
 * validated only once the caller may send it) and interceptors (an upload is read only then).
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(CALLER_IDENTITY) private readonly identity: CallerIdentity,
    @Inject(COMMAND_AUDIT_SINK) private readonly audit: CommandAuditSink,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<AccessRequest>();
    request.requestId = requestIdOf(request);
    context
      .switchToHttp()
      .getResponse<{ setHeader(n: string, v: string): void }>()
      .setHeader('x-request-id', request.requestId);
    const rule = accessRuleOf(this.reflector, context);
    // Unreachable after the boot check; refused all the same should a route slip past it.
    if (rule === undefined)
      throw new ApiError(403, AUTH_FORBIDDEN, `${routeOf(request)} declares no access rule`);
    if (rule.kind === 'PUBLIC') return true;
    const action = rule.kind === 'COMMAND' ? rule.action : `READ ${routeOf(request)}`;
    let principal: Principal | undefined;
    try {
      principal = await this.identity.authenticate(request.headers);
      const decision = decideAccess(rule, principal);
      if (!decision.allowed) throw new ApiError(403, AUTH_FORBIDDEN, decision.reason);
    } catch (error) {
      if (error instanceof ApiError) {
        this.identity.logRefusal(`${routeOf(request)} (request ${request.requestId})`, error);
        await this.audit.append({
          principal: principal?.id ?? null,
          roles: principal?.roles ?? [],
          action,
          target: request.params?.id ?? null,
          requestId: request.requestId,
          outcome: 'REFUSED',
          httpStatus: error.getStatus(),
          code: error.code,
          detail: error.message,
        });
      }
      throw error;
    }
    request.principal = principal;
    return true;
  }
}

/**
 * Audits every command once its handler is done: APPLIED with the status, REFUSED (4xx, e.g. a
 * maker approving their own record) or FAILED (5xx) with the error's code. The command's own
 * state carries its principal in the same transaction (uploaded_by, closed_by, …); this row is the
 * access log beside it, so a refusal that wrote nothing is on record too.
 */
@Injectable()
export class CommandAuditInterceptor implements NestInterceptor {
  private readonly logger = new Logger('CommandAudit');

  private mapper: DomainErrorMapper | undefined;

  constructor(
    private readonly reflector: Reflector,
    @Inject(COMMAND_AUDIT_SINK) private readonly audit: CommandAuditSink,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** Looked up across the app (the HTTP module provides it), once. */
  private domainMapper(): DomainErrorMapper {
    if (this.mapper === undefined) {
      try {
        this.mapper = this.moduleRef.get<DomainErrorMapper>(DOMAIN_ERROR_MAPPER, { strict: false });
      } catch {
        this.mapper = () => undefined;
      }
    }
    return this.mapper;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const rule = context.getType() === 'http' ? accessRuleOf(this.reflector, context) : undefined;
    if (rule?.kind !== 'COMMAND') return next.handle();
    const request = context.switchToHttp().getRequest<AccessRequest>();
    const targetOf =
      this.reflector.get<AuditTargetOf | undefined>(AUDIT_TARGET, context.getHandler()) ??
      ((r: AccessRequest) => r.params?.id ?? null);
    const entry = (
      outcome: CommandAuditEntry['outcome'],
      httpStatus: number,
      code: string | null,
      detail: string | null,
    ) => ({
      principal: request.principal?.id ?? null,
      roles: request.principal?.roles ?? [],
      action: rule.action,
      target: safeTarget(targetOf, request),
      requestId: request.requestId ?? requestIdOf(request),
      outcome,
      httpStatus,
      code,
      detail,
    });
    return next.handle().pipe(
      mergeMap((value: unknown) =>
        from(
          this.audit
            .append(
              entry(
                'APPLIED',
                context.switchToHttp().getResponse<{ statusCode: number }>().statusCode,
                null,
                null,
              ),
            )
            .then(() => value),
        ),
      ),
      catchError((error: unknown) =>
        from(
          (async () => {
            // The status and code the caller is answered, as the app's error filter maps them.
            const body = toApiErrorBody(error, this.domainMapper());
            try {
              await this.audit.append(
                entry(
                  body.statusCode < 500 ? 'REFUSED' : 'FAILED',
                  body.statusCode,
                  body.error,
                  body.message,
                ),
              );
            } catch (auditError) {
              this.logger.error(`could not audit a failed ${rule.action}: ${String(auditError)}`);
            }
            throw error;
          })(),
        ),
      ),
    );
  }
}

/** A field of a request's body as text for an audit target: strings only, bounded; `?` otherwise. */
export function bodyField(request: AccessRequest, field: string, maxChars = 64): string {
  const value = (request.body as Record<string, unknown> | undefined)?.[field];
  return typeof value === 'string' ? value.slice(0, maxChars) : '?';
}

function safeTarget(targetOf: AuditTargetOf, request: AccessRequest): string | null {
  try {
    return targetOf(request)?.slice(0, 500) ?? null;
  } catch {
    return null;
  }
}

function accessRuleOf(reflector: Reflector, context: ExecutionContext): AccessRule | undefined {
  return reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_RULE, [
    context.getHandler(),
    context.getClass(),
  ]);
}

/** Every route of an app's controllers with the rule it declares (undefined: none). */
export function routeAccessRules(
  discovery: DiscoveryService,
  scanner: MetadataScanner,
  reflector: Reflector,
): { controller: string; handler: string; rule: AccessRule | undefined }[] {
  const routes: { controller: string; handler: string; rule: AccessRule | undefined }[] = [];
  for (const wrapper of discovery.getControllers()) {
    const instance = wrapper.instance as object | undefined;
    if (instance === undefined || instance === null) continue;
    const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
    for (const name of scanner.getAllMethodNames(prototype)) {
      const handler = prototype[name] as (...args: unknown[]) => unknown;
      // Only route handlers carry a path; helpers of the controller do not.
      if ((Reflect.getMetadata('path', handler) as unknown) === undefined) continue;
      routes.push({
        controller: String(wrapper.name),
        handler: name,
        rule: reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_RULE, [
          handler,
          instance.constructor as new () => unknown,
        ]),
      });
    }
  }
  return routes;
}

/** Stops the service at boot when a route declares no access rule: secure by default, not by review. */
@Injectable()
export class AccessRulesCheck implements OnApplicationBootstrap {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onApplicationBootstrap(): void {
    const missing = routeAccessRules(this.discovery, this.scanner, this.reflector).filter(
      (r) => r.rule === undefined,
    );
    if (missing.length > 0)
      throw new Error(
        `routes without an access rule (@Access.public/command/read): ${missing.map((r) => `${r.controller}.${r.handler}`).join(', ')}`,
      );
  }
}
