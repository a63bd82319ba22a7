// The typed REST client of the console: one function per endpoint it uses (docs/api.md).
import { request, upload } from "./http";
import type {
  Attachment, Channel, ChannelType, ClientCard, Conv, ConvPage, ConvStatus, CreatedChannel, History, Line,
  Bot, BotDraft, Form, FormDraft, LineBoard, LineDraft, Member, Msg, QuickAnswer, QuickAnswerDraft, Role, StaffMember, User,
} from "./types";

const enc = encodeURIComponent;

// --- session ---
export const login = (email: string, password: string) =>
  request<{ token: string; user: User }>("POST", "/api/v1/auth/login", { email, password });
export const logout = () => request<null>("POST", "/api/v1/auth/logout");
export const getMe = () => request<User>("GET", "/api/v1/me");

// --- people and lines ---
export const listUsers = async () => (await request<{ users: User[] }>("GET", "/api/v1/users")).users;
export const createUser = (user: { name: string; email: string; password: string; role: Role }) =>
  request<User>("POST", "/api/v1/users", user);
export const patchUser = (id: string, patch: { name?: string; email?: string; password?: string; role?: Role; active?: boolean }) =>
  request<User>("PATCH", `/api/v1/users/${enc(id)}`, patch);
export const listStaff = async () => (await request<{ staff: StaffMember[] }>("GET", "/api/v1/console/staff")).staff;
export const listLines = async () => (await request<{ lines: Line[] }>("GET", "/api/v1/lines")).lines;
export const createLine = (line: Omit<LineDraft, "id">) => request<Line>("POST", "/api/v1/lines", line);
export const patchLine = (id: string, line: Partial<Omit<LineDraft, "id">>) => request<Line>("PATCH", `/api/v1/lines/${enc(id)}`, line);
export const deleteLine = (id: string) => request<null>("DELETE", `/api/v1/lines/${enc(id)}`);
export const lineMembers = async (lineId: string) =>
  (await request<{ members: Member[] }>("GET", `/api/v1/console/lines/${enc(lineId)}/members`)).members;
export const transferLines = async () =>
  (await request<{ lines: { id: string; name: string }[] }>("GET", "/api/v1/console/transfer-lines")).lines;
export const lineBoard = (lineId: string) => request<LineBoard>("GET", `/api/v1/console/lines/${enc(lineId)}/board`);

// --- conversations ---
export const searchConversations = (status: ConvStatus, limit: number, q = "", cursor: string | null = null) =>
  request<ConvPage>(
    "GET", `/api/v1/conversations?status=${status}&limit=${limit}${q ? `&q=${enc(q)}` : ""}${cursor ? `&cursor=${enc(cursor)}` : ""}`,
  );
export const listConversations = async (status: ConvStatus, limit: number, q = "") =>
  (await searchConversations(status, limit, q)).conversations;
export const getConversation = (id: string) => request<Conv>("GET", `/api/v1/conversations/${enc(id)}`);
export const history = (id: string, page: { before?: number; limit: number }) =>
  request<History>("GET", `/api/v1/console/conversations/${enc(id)}/history?${page.before ? `before=${page.before}&` : ""}limit=${page.limit}`);
export const messagesAfter = async (id: string, after: number, limit: number) =>
  (await request<{ messages: Msg[] }>("GET", `/api/v1/conversations/${enc(id)}/messages?after=${after}&limit=${limit}`)).messages;
export const clientCard = (clientId: string) => request<ClientCard>("GET", `/api/v1/console/clients/${enc(clientId)}`);
export const uploadFile = (file: File, progress: (percent: number) => void, failed: string) =>
  upload<Attachment>("/api/v1/widget/uploads", file, progress, failed);

// --- quick answers ---
export const listForms = async () => (await request<{ forms: Form[] }>("GET", "/api/v1/forms")).forms;
export const createForm = (form: FormDraft) => request<Form>("POST", "/api/v1/forms", form);
export const patchForm = (id: string, form: FormDraft) => request<Form>("PATCH", `/api/v1/forms/${enc(id)}`, form);
export const deleteForm = (id: string) => request<null>("DELETE", `/api/v1/forms/${enc(id)}`);
export const listBots = async () => (await request<{ bots: Bot[] }>("GET", "/api/v1/bots")).bots;
export const createBot = (bot: BotDraft) => request<Bot>("POST", "/api/v1/bots", bot);
export const patchBot = (id: string, bot: BotDraft) => request<Bot>("PATCH", `/api/v1/bots/${enc(id)}`, bot);
export const deleteBot = (id: string) => request<null>("DELETE", `/api/v1/bots/${enc(id)}`);
export const listQuickAnswers = async () =>
  (await request<{ quick_answers: QuickAnswer[] }>("GET", "/api/v1/console/quick-answers")).quick_answers;
export const createQuickAnswer = (answer: QuickAnswerDraft) =>
  request<QuickAnswer>("POST", "/api/v1/console/quick-answers", answer);
export const patchQuickAnswer = (id: string, answer: Partial<QuickAnswerDraft>) =>
  request<QuickAnswer>("PATCH", `/api/v1/console/quick-answers/${enc(id)}`, answer);
export const deleteQuickAnswer = (id: string) => request<null>("DELETE", `/api/v1/console/quick-answers/${enc(id)}`);

// --- channels ---
export const listChannelTypes = async () =>
  (await request<{ channel_types: ChannelType[] }>("GET", "/api/v1/channel-types")).channel_types;
export const lineChannels = async (lineId: string) =>
  (await request<{ channels: Channel[] }>("GET", `/api/v1/lines/${enc(lineId)}/channels`)).channels;
export const createChannel = (lineId: string, type: string, config: Record<string, unknown>) =>
  request<CreatedChannel>("POST", `/api/v1/lines/${enc(lineId)}/channels`, { type, config });
export const patchChannel = (id: string, patch: { active?: boolean; config?: Record<string, unknown> }) =>
  request<Channel>("PATCH", `/api/v1/channels/${enc(id)}`, patch);
export const deleteChannel = (id: string) => request<null>("DELETE", `/api/v1/channels/${enc(id)}`);
/** New generated secrets for the channel, in this answer only (as at creation). */
export const rotateChannelSecret = (id: string) => request<CreatedChannel>("POST", `/api/v1/channels/${enc(id)}/rotate-secret`);
