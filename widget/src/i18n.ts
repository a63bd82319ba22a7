// The widget's texts in the shipped languages. The channel config picks one, or "auto" follows
// the browser (navigator.languages), falling back to English.
const en = {
  launcher: "Chat",
  close: "Close",
  placeholder: "Write a message…",
  send: "Send",
  attach: "Attach a file",
  emoji: "Emoji",
  online: "We are online",
  offline: "We will answer as soon as we can",
  operator: "Operator",
  typing: "is typing…",
  someone: "Someone",
  reconnecting: "Connection lost. Reconnecting…",
  refused: "The chat is not available on this site.",
  gone: "This chat is no longer available.",
  afterHours: "We are closed right now. Leave a message and we will reply when we are back.",
  queue: "You are number {n} in the queue",
  closed: "The conversation is closed.",
  newConversation: "New conversation",
  csatAsk: "How did we do?",
  csatComment: "Anything to add? (optional)",
  csatSubmit: "Send rating",
  csatThanks: "Thank you for your rating!",
  prechatIntro: "Please introduce yourself before we start",
  name: "Name",
  email: "Email",
  phone: "Phone",
  start: "Start chat",
  agreementRequired: "Please accept the terms to continue.",
  tooLong: "The message is too long: at most {n} characters.",
  rateLimited: "You are sending messages too fast. Please wait a few seconds.",
  failed: "Not sent",
  retry: "Retry",
  sending: "Sending",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
  fileTooLarge: "The file is too large: at most {n} MB.",
  uploadFailed: "The file could not be uploaded.",
  download: "Download",
};

export type Texts = typeof en;

const ru: Texts = {
  launcher: "Чат",
  close: "Закрыть",
  placeholder: "Напишите сообщение…",
  send: "Отправить",
  attach: "Прикрепить файл",
  emoji: "Эмодзи",
  online: "Мы на связи",
  offline: "Ответим, как только сможем",
  operator: "Оператор",
  typing: "печатает…",
  someone: "Кто-то",
  reconnecting: "Нет связи. Переподключаемся…",
  refused: "Чат недоступен на этом сайте.",
  gone: "Этот чат больше недоступен.",
  afterHours: "Сейчас мы не работаем. Оставьте сообщение — ответим, когда вернёмся.",
  queue: "Вы {n}-й в очереди",
  closed: "Диалог завершён.",
  newConversation: "Новый диалог",
  csatAsk: "Оцените, пожалуйста, нашу работу",
  csatComment: "Хотите что-то добавить? (необязательно)",
  csatSubmit: "Отправить оценку",
  csatThanks: "Спасибо за оценку!",
  prechatIntro: "Представьтесь, пожалуйста, перед началом",
  name: "Имя",
  email: "Эл. почта",
  phone: "Телефон",
  start: "Начать чат",
  agreementRequired: "Чтобы продолжить, примите условия.",
  tooLong: "Сообщение слишком длинное: не больше {n} символов.",
  rateLimited: "Вы отправляете сообщения слишком часто. Подождите несколько секунд.",
  failed: "Не отправлено",
  retry: "Повторить",
  sending: "Отправляется",
  sent: "Отправлено",
  delivered: "Доставлено",
  read: "Прочитано",
  fileTooLarge: "Файл слишком большой: не больше {n} МБ.",
  uploadFailed: "Не удалось загрузить файл.",
  download: "Скачать",
};

// What the hub's error codes mean to a visitor, by language (never the hub's English message).
const enErrors: Record<string, string> = {
  validation_failed: "Please check what you entered.",
  empty_message: "The message is empty.",
  message_too_long: "The message is too long.",
  conversation_closed: "The conversation is closed.",
  csat_not_awaited: "This chat cannot be rated now.",
  channel_gone: "This chat is no longer available.",
  rate_limited: "You are sending messages too fast. Please wait a few seconds.",
  payload_too_large: "The file is too large.",
  file_too_large: "The file is too large.",
  empty_file: "The file is empty.",
  unsupported_file_type: "This type of file is not accepted.",
  file_content_mismatch: "The file's content does not match its type.",
  invalid_file_name: "The file name has forbidden characters.",
  unknown_attachment: "The file could not be attached.",
  invalid_visitor_token: "The chat session has expired. Please reload the page.",
  session_gone: "Connection lost. Reconnecting…",
  origin_not_allowed: "The chat is not available on this site.",
  internal_error: "Something went wrong. Please try again.",
};

const ruErrors: Record<string, string> = {
  validation_failed: "Проверьте, что вы ввели.",
  empty_message: "Сообщение пустое.",
  message_too_long: "Сообщение слишком длинное.",
  conversation_closed: "Диалог завершён.",
  csat_not_awaited: "Сейчас этот чат нельзя оценить.",
  channel_gone: "Этот чат больше недоступен.",
  rate_limited: "Вы отправляете сообщения слишком часто. Подождите несколько секунд.",
  payload_too_large: "Файл слишком большой.",
  file_too_large: "Файл слишком большой.",
  empty_file: "Файл пустой.",
  unsupported_file_type: "Такой тип файла не принимается.",
  file_content_mismatch: "Содержимое файла не соответствует его типу.",
  invalid_file_name: "В имени файла недопустимые символы.",
  unknown_attachment: "Не удалось прикрепить файл.",
  invalid_visitor_token: "Сеанс чата истёк. Обновите страницу.",
  session_gone: "Нет связи. Переподключаемся…",
  origin_not_allowed: "Чат недоступен на этом сайте.",
  internal_error: "Что-то пошло не так. Попробуйте ещё раз.",
};

const ERRORS = new Map<Texts, Record<string, string>>([[en, enErrors], [ru, ruErrors]]);

const TEXTS: Record<string, Texts> = { en, ru };

export function pickTexts(configured: string | undefined, browser: readonly string[]): Texts {
  if (configured && TEXTS[configured]) return TEXTS[configured];
  for (const tag of browser) {
    const lang = tag.toLowerCase().split("-")[0];
    if (TEXTS[lang]) return TEXTS[lang];
  }
  return en;
}

export function fill(template: string, n: number | string): string {
  return template.replace("{n}", String(n));
}

/** What to tell the visitor about a refused request: the text of the hub's error `code` in
 * the widget's language, else `fallback` (never the hub's English message). */
export function errorText(texts: Texts, code: string | undefined, fallback: string): string {
  return (code && ERRORS.get(texts)?.[code]) || fallback;
}
