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
