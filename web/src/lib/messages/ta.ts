/** தமிழ் */
import type { LibKey } from "../messages.ts";

const messages: Record<LibKey, string> = {
  "app.name": "மருத்துவமனை",
  loading: "ஏற்றுகிறது…",
  "link.connecting": "நேரடி புதுப்பிப்புகளுக்கு இணைக்கிறது…",
  "link.reconnecting":
    "மீண்டும் இணைக்கிறது… நேரடி புதுப்பிப்புகள் இடைநிறுத்தப்பட்டுள்ளன; நீங்கள் பார்ப்பது பழையதாக இருக்கலாம்.",
  "link.savedCopy": "இணைப்பில்லை — {time} நிலவரப்படி இந்தச் சாதனத்தில் சேமித்தவை காட்டப்படுகின்றன.",
  "error.timeout": "சேவையகம் பதிலளிக்க அதிக நேரம் எடுத்தது. மீண்டும் முயலவும்.",
  "error.network": "இணைப்பு இல்லை. உங்கள் பிணையத்தைச் சரிபார்த்து மீண்டும் முயலவும்.",
  "error.unknown": "ஏதோ தவறு நடந்தது.",
  notSignedIn: "அந்த மின்னஞ்சலும் கடவுச்சொல்லும் எந்தக் கணக்குடனும் பொருந்தவில்லை. அவை சரி " +
    "என்று உறுதியாக இருந்தால், உங்கள் மின்னஞ்சலைப் பாருங்கள்: பலமுறை உள்நுழைவு தோல்வியடைந்த " +
    "பிறகு, உங்கள் உலாவி உள்நுழைய அனுமதிக்கும் இணைப்பை அந்தக் கணக்குக்கு அனுப்புவோம்.",
  "status.held": "நிறுத்திவைக்கப்பட்டது",
  "status.scheduled": "முன்பதிவானது",
  "status.confirmed": "உறுதிசெய்யப்பட்டது",
  "status.checked_in": "வருகை பதிவானது",
  "status.in_progress": "ஆலோசனையில்",
  "status.completed": "முடிந்தது",
  "status.cancelled": "ரத்துசெய்யப்பட்டது",
  "status.no_show": "வரவில்லை",
  "status.rescheduled": "மாற்றியமைக்கப்பட்டது",
  "status.waiting": "காத்திருக்கிறது",
  "status.called": "அழைக்கப்பட்டது",
  "status.serving": "ஆலோசனையில்",
  "gender.female": "பெண்",
  "gender.male": "ஆண்",
  "gender.other": "மற்றவை",
  "gender.prefer_not_to_say": "சொல்ல விரும்பவில்லை",
  "wait.underMinute": "ஒரு நிமிடத்துக்குள்",
  "wait.about": "சுமார் {duration}",
  "wait.minutes": "{n} நிமி.",
  "wait.hours": "{n} மணி",
};

export default messages;
