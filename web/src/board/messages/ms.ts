/** Bahasa Melayu */
import type { BoardKey } from "../messages.ts";

const messages: Record<BoardKey, string> = {
  title: "Papan giliran {code}",
  noClinic: "Tiada klinik dalam alamat. Buka /board/<kod-klinik>.",
  notSetUp: "Skrin ini belum disediakan. Buka pautan papan yang dicipta dalam konsol kakitangan " +
    "(berakhir dengan #token=…) sekali pada skrin ini.",
  otherClinic: "Pautan papan ini untuk klinik lain. Buka pautan papan klinik ini dari konsol " +
    "kakitangan.",
  revoked: "Pautan papan ini telah tamat tempoh atau dibatalkan. Buka pautan papan baharu dari " +
    "konsol kakitangan.",
  currentTime: "Waktu sekarang",
  nowServing: "Sedang dilayan",
  noneServed: "Tiada sesiapa sedang dilayan sekarang.",
  waiting: "Menunggu",
  "people.one": "orang",
  "people.other": "orang",
  next: "Seterusnya",
  recentCalls: "Panggilan terkini",
  connecting: "Menyambung…",
  offlineSince: "Luar talian sejak {time}",
  enableSound: "Hidupkan bunyi",
  goTo: "Sila ke {room}",
  comeNow: "Sila datang",
};

export default messages;
