/**
 * What the reconcilers of resources that belong to a MessageDomain (AgentEndpoint, Gateway) share: the start of
 * a reconcile, which reads the resource and its domain and builds the children, or ends the reconcile early.
 */
import { CRD_API_VERSION } from "../core/crds/common.js";
import { MESSAGE_DOMAIN_KIND } from "../core/crds/message-domain.js";
import { BuildError } from "./builders/common.js";
import type { ConditionUpdate } from "./conditions.js";
import { blockedConditions } from "./deployment-conditions.js";
import type { CustomResource, MessageDomain } from "./k8s-types.js";
import { BaseReconciler, isBeingDeleted, type ReconcileResult } from "./reconciler.js";
import type { BaseStatus } from "./status-writer.js";

/** A resource whose spec names the MessageDomain it belongs to. */
export type DomainMember = CustomResource<string, { domain: string }, BaseStatus>;

/** How the start of a reconcile ended: with the resource and its children built, or with the reconcile's result. */
export type Prepared<R, C> = { resource: R; children: C; done?: undefined } | { done: ReconcileResult };

export abstract class DomainMemberReconciler extends BaseReconciler {
  /**
   * Reads the resource (absent or being deleted: nothing to do; garbage collection takes the children), reads
   * its MessageDomain (absent: `block` writes DomainNotFound), and builds the children (a BuildError: `block`
   * writes InvalidSpec).
   */
  protected async prepare<R extends DomainMember, C>(
    kind: string,
    namespace: string,
    name: string,
    build: (resource: R, domain: MessageDomain) => C,
    block: (resource: R, updates: ConditionUpdate[]) => Promise<ReconcileResult>,
  ): Promise<Prepared<R, C>> {
    const resource = await this.readResource<R>(CRD_API_VERSION, kind, namespace, name);
    if (resource === undefined) return { done: { found: false, statusWritten: false } };
    if (isBeingDeleted(resource)) return { done: { found: true, statusWritten: false } };

    const domainName = resource.spec.domain;
    const domain = await this.readResource<MessageDomain>(
      CRD_API_VERSION,
      MESSAGE_DOMAIN_KIND,
      namespace,
      domainName,
    );
    if (domain === undefined) {
      const message = `MessageDomain ${domainName} not found in namespace ${namespace}`;
      return { done: await block(resource, blockedConditions("DomainNotFound", message)) };
    }

    try {
      return { resource, children: build(resource, domain) };
    } catch (error) {
      if (error instanceof BuildError)
        return { done: await block(resource, blockedConditions("InvalidSpec", error.message)) };
      throw error;
    }
  }
}
