/** 简体中文 */
import type { LibKey } from "../messages.ts";

const messages: Record<LibKey, string> = {
  "app.name": "诊所",
  loading: "加载中…",
  "link.connecting": "正在连接实时更新…",
  "link.reconnecting": "正在重新连接… 实时更新已暂停，您看到的内容可能不是最新的。",
  "link.savedCopy": "离线 — 显示本设备保存的内容（截至 {time}）。",
  "error.timeout": "服务器响应时间过长，请重试。",
  "error.network": "没有网络连接。请检查网络后重试。",
  "error.unknown": "出错了。",
  notSignedIn: "该电子邮件和密码与任何账户都不匹配。如果您确定无误，请查看您的电子邮件：" +
    "多次登录失败后，我们会向该账户发送一个链接，让您的浏览器可以登录。",
  "status.held": "保留中",
  "status.scheduled": "已预约",
  "status.confirmed": "已确认",
  "status.checked_in": "已报到",
  "status.in_progress": "就诊中",
  "status.completed": "已完成",
  "status.cancelled": "已取消",
  "status.no_show": "未到",
  "status.rescheduled": "已改期",
  "status.waiting": "等候中",
  "status.called": "已叫号",
  "status.serving": "就诊中",
  "gender.female": "女",
  "gender.male": "男",
  "gender.other": "其他",
  "gender.prefer_not_to_say": "不愿透露",
  "wait.underMinute": "不到一分钟",
  "wait.about": "约 {duration}",
  "wait.minutes": "{n} 分钟",
  "wait.hours": "{n} 小时",
};

export default messages;
