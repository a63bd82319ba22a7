// The shapes the hub's REST API and /operator socket send the console (docs/api.md). Only the
// fields the console reads are named; the API may send more.

export type Lang = "en" | "ru";
/** A text in both console languages, as the hub sends titles of its own things. */
export type Localized = { ru: string; en: string };

export type Role = "operator" | "supervisor" | "manager" | "admin";
export type Presence = "online" | "away" | "offline";

export type User = {
  id: string; name: string; email: string; role: Role; active: boolean; status_preference?: Presence;
};
/** ``width``/``height``: an image's pixels as shown, when the hub could read them. */
export type Attachment = {
  id: string; name: string; mime: string; size: number; url?: string | null;
  width?: number | null; height?: number | null;
};
export type Msg = {
  id: string; conversation_id: string; seq: number; direction: "in" | "out" | "system";
  author: { type: string; id?: string | null; name?: string | null };
  text: string; attachments: Attachment[]; hidden: boolean; status: string; created_at: string;
  client_msg_id?: string | null; local?: boolean; original?: Attachment | null;
  /** A system note's code and params: the console renders it in its language (i18n messageText). */
  system?: { code: string; params: Record<string, string> } | null;
};
export type ConvStatus = "queued" | "offered" | "active" | "closed";
export type Conv = {
  id: string; line_id: string; channel: { id: string; type: string };
  client: { id: string; name?: string | null; email?: string | null; phone?: string | null };
  status: ConvStatus; assignee_id: string | null;
  participants: { user_id: string; hidden: boolean }[]; offered_to: string[];
  offer_expires_at: string | null; pinned: boolean;
  crm: { lead_id: string | null; contact_id: string | null; deal_id: string | null };
  last_message: { text: string; direction: string; created_at: string } | null;
  unread: number; created_at: string; updated_at?: string; rev?: number; queued_at: string | null; closed_at: string | null;
  csat?: Csat | null;
  /** A transfer to one operator waiting for their accept. */
  transfer?: { from: string; to: string; back_to: string | null; at: string | null } | null;
  /** In search results: the newest message with the searched words, around them. */
  match?: SearchMatch;
  /** The line's response-time clocks: when each running one runs out, and those that did. */
  sla?: ConvSla;
};
export type SlaKind = "first_answer" | "next_answer" | "resolve";
export type ConvSla = {
  first_answer_due_at: string | null; next_answer_due_at: string | null; resolve_due_at: string | null;
  breached: SlaKind[];
};
/** The client's rating of a closed conversation (``rating`` once they gave it). */
export type Csat = { status: "requested" | "submitted" | "expired"; rating: number | null; comment: string | null };
/** ``highlights``: [start, end) offsets into ``text`` of each matching word. */
export type SearchMatch = { message_id: string; seq: number; hidden: boolean; text: string; highlights: [number, number][] };
export type ConvPage = { conversations: Conv[]; next_cursor: string | null };
export type WorkingHours = { timezone: string; week: Record<string, [string, string][]>; holidays: string[] };
/** A line as the admin edits it: the editor sends back what it got, so it stays open-ended. */
export type Line = Record<string, any> & {
  id: string; name: string; operators: string[]; supervisors: string[]; distribution: string;
  working_hours: WorkingHours | null;
  /** Archived: takes no new conversations and is left out of pickers; can be restored. */
  archived?: boolean;
};
export type LineDraft = Omit<Line, "id"> & { id?: string };
export type Member = { id: string; name: string; status: Presence; active: number; max_active: number; operator: boolean };
export type StaffMember = { id: string; name: string; role: Role; active: boolean };
export type BoardOperator = Member & {
  today: number; today_closed: number; avg_first_response_s: number | null; csat_avg: number | null;
};
export type LineBoard = {
  line_id: string; waiting: number; longest_wait_s: number; active: number; today: number;
  avg_first_response_s: number | null; by_hour: number[]; operators: BoardOperator[];
};
export type ClientIdentity = { channel_id: string; type?: string; name?: string | null };
export type ClientCard = {
  client: { id: string; name?: string | null; email?: string | null; phone?: string | null };
  identities: ClientIdentity[]; conversations: Conv[];
};
/** Who sees a quick answer: its owner, its line's staff, or all staff. */
export type AnswerScope = "personal" | "line" | "everyone";
export type QuickAnswer = { id: string; title: string; text: string; line_id: string | null; scope?: AnswerScope; owner_id?: string };
export type QuickAnswerDraft = { title: string; text: string; line_id: string | null; scope: AnswerScope };
export type History = { messages: Msg[]; last_seq: number };

/** A connected channel; ``config`` carries the kind's settings (secrets left out). */
export type Channel = {
  id: string; line_id: string; type: string; active: boolean; config: Record<string, unknown>;
  webhook_url?: string | null; secrets_set?: string[]; embed?: string | null;
};
/** What creating a channel answers: the channel, plus what is shown only this once. */
export type CreatedChannel = Channel & Record<string, unknown> & { webhook_secret?: string | null };

/** One JSON Schema property of a channel kind's config, with the hub's ``x-`` annotations. */
export type SchemaProperty = {
  type?: string | string[];
  anyOf?: SchemaProperty[];
  title?: string;
  "x-title"?: Localized;
  "x-description"?: Localized;
  "x-multiline"?: boolean;
  "x-generated"?: boolean;
  "x-once"?: boolean;
  "x-enum-titles"?: Record<string, Localized>;
  writeOnly?: boolean;
  enum?: unknown[];
  items?: SchemaProperty;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  format?: string;
};
export type ConfigSchema = {
  type?: string; properties?: Record<string, SchemaProperty>; required?: string[];
};
/** One entry of ``GET /api/v1/channel-types``: a kind and its config model as JSON Schema. */
export type ChannelType = { type: string; title: Localized; schema: ConfigSchema };

/** A text in Russian and English (at least one). */
export type Texts = { ru: string | null; en: string | null };
export type FormOption = { key: string; label: Texts };
export type FormFieldDraft = { key: string; label: Texts; type: string; options: FormOption[] | null; required: boolean };
export type FormDraft = { name: string; fields: FormFieldDraft[]; agreement_text: Texts | null };
export type Form = FormDraft & { id: string; created_at: string; updated_at: string | null };
export type BotAction =
  | { type: "answer"; text: Texts } | { type: "transfer"; line_id: string } | { type: "operator" }
  | { type: "form"; form_id: string } | { type: "close" };
export type BotChoice = { label: Texts; next?: string | null; action?: BotAction | null };
export type BotNode = { id: string; text: Texts; choices: BotChoice[] };
export type BotDraft = { name: string; nodes: BotNode[] };
export type Bot = BotDraft & { id: string; created_at: string; updated_at: string | null };
