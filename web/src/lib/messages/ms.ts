/** Bahasa Melayu */
import type { LibKey } from "../messages.ts";

const messages: Record<LibKey, string> = {
  "app.name": "Klinik",
  loading: "Memuatkan…",
  "link.connecting": "Menyambung untuk kemas kini langsung…",
  "link.reconnecting":
    "Menyambung semula… kemas kini langsung dijeda; apa yang anda lihat mungkin sudah lapuk.",
  "link.savedCopy": "Luar talian — menunjukkan apa yang disimpan pada peranti ini setakat {time}.",
  "error.timeout": "Pelayan mengambil masa terlalu lama untuk menjawab. Sila cuba lagi.",
  "error.network": "Tiada sambungan. Semak rangkaian anda dan cuba lagi.",
  "error.unknown": "Berlaku masalah.",
  notSignedIn: "E-mel dan kata laluan itu tidak sepadan dengan mana-mana akaun. Jika anda " +
    "pasti ia betul, semak e-mel anda: selepas beberapa kali gagal log masuk, kami menghantar " +
    "pautan kepada akaun itu yang membenarkan pelayar anda log masuk.",
  "status.held": "Ditahan",
  "status.scheduled": "Ditempah",
  "status.confirmed": "Disahkan",
  "status.checked_in": "Sudah daftar masuk",
  "status.in_progress": "Dalam konsultasi",
  "status.completed": "Selesai",
  "status.cancelled": "Dibatalkan",
  "status.no_show": "Tidak hadir",
  "status.rescheduled": "Dijadual semula",
  "status.waiting": "Menunggu",
  "status.called": "Dipanggil",
  "status.serving": "Dalam konsultasi",
  "gender.female": "Perempuan",
  "gender.male": "Lelaki",
  "gender.other": "Lain-lain",
  "gender.prefer_not_to_say": "Tidak mahu menyatakan",
  "wait.underMinute": "kurang seminit",
  "wait.about": "kira-kira {duration}",
  "wait.minutes": "{n} min",
  "wait.hours": "{n} jam",
};

export default messages;
