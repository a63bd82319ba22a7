// The typed client of the CRM endpoints the console uses (docs/crm.md).
import { request } from "./http";
import type { Conv, Msg } from "./types";

export type CrmEntity = "leads" | "contacts" | "companies" | "deals";
/** A CRM record: the card shows whatever fields its kind has. */
export type Rec = Record<string, any> & { id: string };
export type Stage = { id: string; name: string; semantic: "open" | "won" | "lost"; color?: string | null };
/** A stage as the pipeline editor sends it: without an id it is a new one. */
export type StageDraft = { id?: string; name: string; semantic: Stage["semantic"]; color: string | null };
export type Pipeline = { id: string; name: string; stages: Stage[]; is_default?: boolean };
export type Activity = {
  id: string; type: string; text: string | null; data: Record<string, any>; actor_id: string | null; created_at: string;
};
export type Timeline = { activities: Activity[]; conversations: Conv[] };
export type Webhook = { id: string; url: string; events: string[]; active: boolean; created_at: string; secret?: string };
export const WEBHOOK_EVENTS = [
  "lead.created", "contact.created", "deal.created", "deal.stage_changed", "conversation.sla_breached",
];
export type Conversion = {
  contact: boolean; company?: { title: string }; deal?: { title: string; amount?: number; currency?: string };
};

const enc = encodeURIComponent;

export const listRecords = async (entity: CrmEntity, query: URLSearchParams) =>
  (await request<Record<string, Rec[]>>("GET", `/api/v1/crm/${entity}?${query}`))[entity];
export const getRecord = (entity: CrmEntity, id: string) => request<Rec>("GET", `/api/v1/crm/${entity}/${enc(id)}`);
export const recordTimeline = (entity: CrmEntity, id: string) =>
  request<Timeline>("GET", `/api/v1/crm/${entity}/${enc(id)}/timeline`);
export const addNote = (entity: CrmEntity, id: string, text: string) =>
  request<unknown>("POST", `/api/v1/crm/${entity}/${enc(id)}/notes`, { text });
export const convertLead = (id: string, body: Conversion) =>
  request<unknown>("POST", `/api/v1/crm/leads/${enc(id)}/convert`, body);
export const patchRecord = (entity: CrmEntity, id: string, changes: Record<string, unknown>) =>
  request<Rec>("PATCH", `/api/v1/crm/${entity}/${enc(id)}`, changes);
export const listPipelines = async () => (await request<{ pipelines: Pipeline[] }>("GET", "/api/v1/crm/pipelines")).pipelines;
export const getPipeline = (id: string) => request<Pipeline>("GET", `/api/v1/crm/pipelines/${enc(id)}`);
export const listDeals = async (pipelineId: string) =>
  (await request<{ deals: Rec[] }>("GET", `/api/v1/crm/deals?pipeline_id=${enc(pipelineId)}&limit=500`)).deals;
export const moveDeal = (id: string, stage: string) => request<Rec>("PATCH", `/api/v1/crm/deals/${enc(id)}`, { stage });
export const startDeal = (conversationId: string, title: string) =>
  request<unknown>("POST", `/api/v1/conversations/${enc(conversationId)}/deal`, { title });
export const writeToContact = (contactId: string, body: { text: string; channel_id?: string }) =>
  request<{ message: Msg; conversation: Conv }>("POST", `/api/v1/crm/contacts/${enc(contactId)}/messages`, body);
export const createPipeline = (name: string, stages: StageDraft[]) =>
  request<Pipeline>("POST", "/api/v1/crm/pipelines", { name, stages });
export const patchPipeline = (id: string, changes: { name?: string; stages?: StageDraft[] }) =>
  request<Pipeline>("PATCH", `/api/v1/crm/pipelines/${enc(id)}`, changes);
export const deletePipeline = (id: string) => request<null>("DELETE", `/api/v1/crm/pipelines/${enc(id)}`);
export const listWebhooks = async () => (await request<{ webhooks: Webhook[] }>("GET", "/api/v1/webhooks")).webhooks;
export const createWebhook = (body: { url: string; events: string[] }) => request<Webhook>("POST", "/api/v1/webhooks", body);
export const patchWebhook = (id: string, changes: { url?: string; events?: string[]; active?: boolean }) =>
  request<Webhook>("PATCH", `/api/v1/webhooks/${enc(id)}`, changes);
export const deleteWebhook = (id: string) => request<null>("DELETE", `/api/v1/webhooks/${enc(id)}`);
