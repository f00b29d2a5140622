/** 简体中文 */
import type { BoardKey } from "../messages.ts";

const messages: Record<BoardKey, string> = {
  title: "排队显示屏 {code}",
  noClinic: "地址中没有诊所。请打开 /board/<诊所代码>。",
  notSetUp: "此屏幕尚未设置。请在此屏幕上打开一次员工控制台生成的显示屏链接（以 #token=… 结尾）。",
  otherClinic: "此显示屏链接属于另一家诊所。请从员工控制台打开本诊所的显示屏链接。",
  revoked: "此显示屏链接已过期或已被撤销。请从员工控制台打开新的显示屏链接。",
  currentTime: "当前时间",
  nowServing: "正在就诊",
  noneServed: "目前没有人在就诊。",
  waiting: "等候中",
  "people.one": "人",
  "people.other": "人",
  next: "下一位",
  recentCalls: "最近叫号",
  connecting: "连接中…",
  offlineSince: "{time} 起离线",
  enableSound: "开启声音",
  goTo: "请到 {room}",
  comeNow: "请前来",
};

export default messages;
