"""Every interface sentence the bot says, in one place (campaign wording lives in YAML)."""

from __future__ import annotations

from bot.i18n import N_

# Buttons
BUTTON_STATEMENT = N_("📄 Statement")
BUTTON_SLOGANS = N_("📣 Slogans")
BUTTON_ACTIONS = N_("✊ Actions")
BUTTON_ARCHIVE = N_("🗂 All statements")
BUTTON_SUBSCRIBE = N_("🔔 Get updates")
BUTTON_UNSUBSCRIBE = N_("🔕 Stop updates")
BUTTON_SHARE = N_("↗️ Share")
BUTTON_CAMPAIGNS = N_("📋 Campaigns")
BUTTON_MYDATA = N_("🔒 My data")
BUTTON_HELP = N_("ℹ️ Help")
BUTTON_MENU = N_("☰ Menu")
BUTTON_FORGET = N_("🗑 Erase my data")
BUTTON_FORGET_YES = N_("Yes, erase everything")
BUTTON_CANCEL = N_("Cancel")
BUTTON_SEND = N_("✅ Send")
BUTTON_LANGUAGE = N_("🌐 Language")
BUTTON_TOPICS = N_("🏷 Topics")

# Commands, as published to Telegram's command menu
PUBLIC_COMMANDS = (
    ("start", N_("Open the campaign menu")),
    ("statement", N_("Read the latest statement")),
    ("statements", N_("Earlier statements")),
    ("slogans", N_("The campaign's slogans")),
    ("actions", N_("What you can do")),
    ("subscribe", N_("Get updates from this campaign")),
    ("unsubscribe", N_("Stop getting updates")),
    ("campaigns", N_("Choose a campaign")),
    ("language", N_("Choose the language I speak")),
    ("topics", N_("Choose which updates you get")),
    ("mydata", N_("See what the bot stores about you")),
    ("forget", N_("Erase everything stored about you")),
    ("privacy", N_("How long your data is kept, and who could see it")),
    ("help", N_("How this bot works")),
)
ADMIN_COMMANDS = (
    ("broadcast", N_("Organizers: send a message to subscribers")),
    ("announce", N_("Organizers: send the latest statement to subscribers")),
    ("broadcasts", N_("Organizers: scheduled, running and recent broadcasts")),
    ("stats", N_("Organizers: subscriber numbers")),
    ("export", N_("Organizers: subscriber list as CSV")),
    ("link", N_("Organizers: a sign-up link and QR code for one source")),
    ("reload", N_("Organizers: re-read the campaign files")),
    ("dashboard", N_("Organizers: open the desk (numbers, broadcasts)")),
)

WELCOME = N_("Welcome. This bot shares <b>{title}</b> from {organization}.")
MENU_HINT = N_("Choose what to read below, or get updates when there is news.")
UNKNOWN_CAMPAIGN = N_("I don't know the campaign “{payload}”, so here is {title}.")
PICK_CAMPAIGN = N_("This bot serves several campaigns. Which one would you like?")
CAMPAIGN_LINE = N_("• <b>{title}</b> — {organization}")

HELP = N_(
    "<b>How this bot works</b>\n"
    "/statement — the latest statement\n"
    "/statements — earlier statements\n"
    "/slogans — the campaign's slogans\n"
    "/actions — what you can do\n"
    "/subscribe — get updates; /unsubscribe — stop them at any time\n"
    "/campaigns — choose a campaign\n"
    "/language — choose my language; /topics — choose which updates you get\n"
    "/mydata — see what is stored about you; /forget — erase it\n"
    "/privacy — how long it is kept, and who could see it\n\n"
    "<b>Privacy.</b> When you subscribe the bot stores only your numeric Telegram id, the "
    "campaign, the time, your language code, the link you came from and the topics you pick; "
    "and the language you choose with /language, if you do. It never stores your name, "
    "username or messages."
)
HELP_ADMIN = N_(
    "\n\n<b>Organizers</b>\n"
    "/broadcast [campaign] text — preview, then send to every subscriber\n"
    "Reply /broadcast [campaign] to a photo, video, file, album or poll you sent me — the "
    "same, with that message\n"
    "/broadcast [campaign] at 2026-12-01 18:00 text (or at 18:00, or in 2h30m) — schedule it\n"
    "/announce [campaign] — the same, with the latest statement\n"
    "/broadcasts — scheduled, running and recent broadcasts; stop or cancel them\n"
    "/stats — numbers; /export — CSV of subscribers; /reload — re-read campaign files\n"
    "/link [campaign] source — a link and QR code whose sign-ups /stats counts as that source\n"
    "In /broadcast, topic:NAME or lang:CODE before the text sends it only to that topic or "
    "language, and a line [ar] (or [es], …) starts the text for readers of that language."
)

STATEMENT_BYLINE = N_("<i>{date}</i> · {organization}")
STATEMENT_SIGNATURE = N_("— <b>{author}</b>{role}")
STATEMENT_SOURCE = N_('<a href="{url}">Original source</a>')
ARCHIVE_TITLE = N_("<b>Statements of {title}</b>, newest first:")
ARCHIVE_LINE = N_("{number}. <b>{title}</b> — <i>{date}</i>")
SLOGANS_TITLE = N_("<b>Slogans</b>")
NO_SLOGANS = N_("This campaign has no slogans yet.")
ACTIONS_TITLE = N_("<b>What you can do</b>")
NO_ACTIONS = N_("This campaign lists no actions yet.")
ACTION_WHEN = N_("🗓 {when}")
ACTION_PLACE = N_("📍 {place}")

SUBSCRIBED = N_(
    "You will get updates from <b>{title}</b>: new statements and calls to action from the "
    "organizers. Send /unsubscribe at any time to stop."
)
ALREADY_SUBSCRIBED = N_("You already get updates from <b>{title}</b>. /unsubscribe stops them.")
GROUP_SUBSCRIBED = N_(
    "This group will get updates from <b>{title}</b>. A group admin can send /unsubscribe "
    "at any time to stop them."
)
GROUP_ALREADY_SUBSCRIBED = N_("This group already gets updates from <b>{title}</b>.")
UNSUBSCRIBED = N_("Done: no more updates from <b>{title}</b>. /subscribe brings them back.")
NOT_SUBSCRIBED = N_("You were not getting updates from <b>{title}</b>.")
GROUP_ADMINS_ONLY = N_("Only this group's admins can change its updates.")

MYDATA_NONE = N_(
    "The bot stores nothing about you: you have not subscribed to anything. "
    "It never stores names, usernames or messages."
)
MYDATA_TITLE = N_("<b>What the bot stores about you</b> (Telegram id {user_id}):")
MYDATA_LINE = N_(
    "• campaign <b>{campaign}</b>: {status}, chat type {chat_type}, language {language}, "
    "topics {topics}, came from {source}, subscribed {subscribed}, last change {updated}"
)
MYDATA_DELIVERIES = N_("• {count} delivery records (which broadcasts reached you, and when)")
MYDATA_AUDIT = N_("• {count} organizer actions in the audit log")
MYDATA_BROADCASTS = N_("• {count} broadcasts you created")
MYDATA_APPROVED = N_("• {count} broadcasts you approved (another organizer's)")
MYDATA_LANGUAGE = N_("• the language you chose: {language}")
MYDATA_ALL_TOPICS = N_("all")
MYDATA_NOT_STORED = N_("not stored")
MYDATA_FOOTER = N_("Nothing else: no name, no username, no messages. /forget erases all of it.")
MYDATA_PRIVACY = N_("How long each is kept, and who could see it: /privacy")
PRIVACY = N_(
    "<b>What this bot keeps, and for how long</b>\n"
    "• While you get updates: your numeric Telegram id, the campaign, when you joined, your "
    "app's language code, the link you came from and the topics you pick. Never your name, "
    "username or messages.\n"
    "• Which broadcasts reached you: for {deliveries} after each one is sent; then only how "
    "many people it reached.\n"
    "• After you unsubscribe, or block or remove the bot: {ended}, then it is deleted.\n"
    "• Your “I'm in” on an action: until a day after it.\n"
    "• /forget erases all of it at once, now.\n\n"
    "<b>Who could see it</b>\n"
    "The organizers see numbers, and can export the list of ids. Someone who seized the "
    "server or a copy of its database could read what is kept{sealed}. Telegram itself knows "
    "that you use this bot, as it knows all your chats."
)
PRIVACY_SEALED = N_(", though the ids in it are encrypted, useless without a key kept apart")
FORGET_CONFIRM = N_(
    "Erase everything the bot stores about you? Your subscriptions end and every record of "
    "your Telegram id is deleted. This cannot be undone."
)
FORGOTTEN = N_("Done: everything stored about you is erased ({count} records).")
FORGET_CANCELLED = N_("Nothing was erased.")
PRIVATE_ONLY = N_("Please use this in a private chat with me.")

SLOW_DOWN = N_("You are sending commands very fast. Please wait a few seconds.")
BUTTON_EXPIRED = N_("This button is no longer valid. Send /start for a fresh menu.")
UNKNOWN_COMMAND = N_("I don't know that command. /help lists what I can do.")
ERROR = N_("Sorry, something went wrong on our side. Please try again in a minute.")
STORAGE_DOWN = N_(
    "Sorry, I cannot reach my records right now, so nothing was saved. "
    "Please try again in a minute."
)

# Pledges
BUTTON_PLEDGE = N_("✊ I'm in: {title}")
BUTTON_PLEDGED = N_("✅ I'm in: {title} (tap to take back)")
PLEDGED = N_("Thank you! You are counted in. I will remind you {lead} before it starts.")
PLEDGED_UNDATED = N_("Thank you! You are counted in.")
BUTTON_PLEDGE_COUNT = N_("✊ I'm in: {title} · {count}")
PLEDGED_IN_GROUP = N_(
    "Thank you! You are counted in. For a reminder {lead} before it starts, open a private "
    "chat with me once: I cannot write to you first."
)
UNPLEDGED = N_("Taken back. You are no longer counted for this one.")
REMINDER = N_("⏰ Reminder: you said you are in.\n\n{action}")
STATS_PLEDGES = N_("<b>Pledges</b> (people who said “I'm in”)")
STATS_PLEDGE_LINE = N_("{campaign} · {title}: {count}")
MYDATA_PLEDGES = N_("• {count} pledges to join actions (and whether you were reminded)")
MYDATA_FEED_DECISIONS = N_(
    "• {count} draft statements from a campaign's feed you added or ignored"
)

# Inline mode (@bot in any chat)
INLINE_SLOGAN = N_("Slogan · {title}")
INLINE_READ_ALL = N_("Read it all")
INLINE_JOIN = N_("Get updates")

# Organizers
NOT_ADMIN = N_("This command is for the campaign's organizers only.")
CONFIRMATION_EXPIRED = N_(
    "This confirmation has expired (after {minutes} minutes). Send the command again."
)
GROUP_NOT_ALLOWED = N_(
    "Only the campaign's organizers can add this bot to a group or channel, so I am leaving. "
    "Ask an organizer to add me."
)
ADMIN_PRIVATE_ONLY = N_("Organizer commands work only in a private chat with me.")
BROADCAST_USAGE = N_(
    "Write the message after the command: /broadcast [campaign] text. Or send me anything "
    "(a photo, a video, a file, an album, a poll) and reply to it with /broadcast [campaign]. "
    "Campaigns: {campaigns}."
)
WHICH_CAMPAIGN = N_(
    "Several campaigns are served: say which one first, e.g. /{command} {example}. "
    "Campaigns: {campaigns}."
)
BROADCAST_PREVIEW = N_(
    "👆 This is exactly what subscribers of <b>{campaign}</b> will receive{target}.\n"
    "Messages per recipient: {parts}. Recipients now: <b>{count}</b>. {question}"
)
BROADCAST_VERSION = N_("👇 In {language} · recipients: {count}")
TARGET_TOPIC = N_(" (only those following “{topic}”)")
TARGET_LANGUAGE = N_(" (only those reading {language})")
UNKNOWN_TOPIC = N_("“{topic}” is not a topic of <b>{campaign}</b>. Its topics: {topics}.")
BAD_LANGUAGE = N_(
    "“{language}” is not a language tag: write it the way Telegram does, e.g. lang:ar or lang:es."
)
BROADCAST_NO_RECIPIENTS = N_(
    "Nobody is subscribed to <b>{campaign}</b> yet, so there is no one to send to."
)
BROADCAST_QUEUED = N_("📤 Sending… recipients: {total}")
BROADCAST_ALREADY = N_("This broadcast was already sent or cancelled.")
BROADCAST_CANCELLED = N_("Broadcast cancelled; nothing was sent.")
BROADCAST_PROGRESS = N_("📤 Broadcast #{id} to <b>{campaign}</b>")
BROADCAST_RATE = N_("{rate:.1f} messages/s · about {left} left")
PROGRESS_DONE = N_("{done:,} of {total:,}")
BROADCASTS_TOTAL = N_("{total:,} recipients")
BROADCAST_COUNTS = N_("sent {sent:,} · blocked {blocked:,} · failed {failed:,}")
BROADCAST_DONE = N_(
    "✅ Broadcast #{id} to <b>{campaign}</b> finished{took}. Recipients: {total:,}"
)
BROADCAST_STOPPED = N_(
    "⏹ Broadcast #{id} to <b>{campaign}</b> was stopped{took}. Recipients: {total:,}"
)
BROADCAST_TOOK = N_(" in {took}")
BROADCAST_NOT_SENT = N_(" · not sent {cancelled:,}")
BROADCAST_UNCERTAIN = N_(
    "\n⚠️ {uncertain} were in flight when the bot restarted and were sent again; "
    "some of them may have got it twice."
)
BUTTON_STOP = N_("⏹ Stop")
BUTTON_UNSCHEDULE = N_("✖ Cancel")
BUTTON_SCHEDULE = N_("📅 Schedule")
BUTTON_STOP_YES = N_("Yes, stop it")
BUTTON_STOP_NO = N_("No, keep it")
BROADCAST_SEND_NOW = N_("Send it?")
BROADCAST_PREVIEW_WHEN = N_("\n📅 Schedule it to go out {when}?")
SCHEDULED_FOR = N_("on {when}, in {left}")
BROADCAST_SCHEDULED = N_(
    "📅 Broadcast #{id} to <b>{campaign}</b> is scheduled: it goes out {when}.\n"
    "Recipients now: {total:,}; whoever is subscribed then gets it."
)
BROADCAST_SCHEDULED_ALERT = N_("Scheduled. /broadcasts lists it.")
SCHEDULE_PROBLEM = N_(
    "I can't schedule that: {problem}. Write /broadcast [campaign] at 2026-12-01 18:00 text, "
    "at 18:00 text, or in 2h30m text."
)
ANNOUNCE_USAGE = N_(
    "Write /announce [campaign], optionally followed by at … or in … to schedule it."
)
STOP_SENDING_CONFIRM = N_("Stop broadcast #{id}? {left} recipients have not got it yet.")
STOP_SCHEDULED_CONFIRM = N_("Cancel scheduled broadcast #{id}? Nobody has got it yet.")
STOP_KEPT = N_("Broadcast #{id} goes on.")
STOPPING = N_("Broadcast #{id} stopped. Messages already on their way finish; its report follows.")
UNSCHEDULED = N_("Scheduled broadcast #{id} was cancelled; nothing was sent.")
BROADCASTS_TITLE = N_("<b>Broadcasts</b>: scheduled, running, and the latest finished")
BROADCASTS_NONE = N_("No broadcasts yet. /broadcast writes one.")
STATS_TITLE = N_("<b>Subscribers</b>")
STATS_LINE = N_(
    "<b>{campaign}</b>: people {private} · groups {groups} · new in the last 7 days {new} · "
    "unsubscribed {unsubscribed} · blocked or removed the bot {blocked}"
)
STATS_NONE = N_("No subscribers yet.")
STATS_LANGUAGES = N_("<b>Subscribers by language</b> (chosen, else their Telegram app's)")
STATS_LANGUAGE_LINE = N_("{campaign}: {languages}")
STATS_LANGUAGE_UNKNOWN = N_("not known")
STATS_SOURCES = N_("<b>Sign-ups by source</b> (still subscribed / all)")
STATS_SOURCE_LINE = N_("{campaign} · {source}: {active} / {total}")
STATS_NO_SOURCE = N_("no link")
LINK_USAGE = N_(
    "Say where the link will be handed out: /link [campaign] source, e.g. /link flyer_march "
    "(A-Z a-z 0-9 _ -, up to {limit} characters here). Campaigns: {campaigns}."
)
LINK_REPLY = N_(
    "Sign-up link for <b>{campaign}</b> from <b>{source}</b>:\n{link}\n\n"
    "Sign-ups through it appear under “{source}” in /stats. The QR code below opens the same link."
)
LINK_CAPTION = N_("{campaign} · {source}")
STATS_BROADCASTS = N_("<b>Last broadcasts</b>")
STATS_BROADCAST_LINE = N_(
    "#{id} {campaign} {date}: {state}, sent {sent}/{total}, blocked {blocked}, failed {failed}"
)
# PAID_ANSWERS_AFTER (issue 20): answers sent in Telegram's paid lane, 0.1 Star each.
STATS_PAID_ANSWERS = N_("<b>Paid answers today</b>: {spent} of {cap}, 0.1 Star each")
EXPORT_CAPTION = N_("Subscriber list, rows: {count}. Keep this file safe: it identifies people.")
RELOADED = N_("Campaign files re-read: {summary}.")
RELOAD_FAILED = N_(
    "The campaign files have problems, so I kept serving the previous content:\n{problems}"
)

# Languages and topics
LANGUAGE_PROMPT = N_("Which language should I speak with you? Now: <b>{current}</b>.")
BUTTON_AUTOMATIC = N_("Automatic: my Telegram language")
LANGUAGE_CHOSEN = N_("Done: I will speak {name} with you. /language changes it.")
LANGUAGE_AUTOMATIC = N_("Done: I will follow your Telegram language ({name}).")
CONTENT_LANGUAGES = N_(
    "<b>{title}</b> is written in {languages}; where your language is missing you read {default}."
)
TOPICS_PROMPT = N_(
    "Which updates from <b>{title}</b> would you like? Tap a topic to switch it on or off. "
    "Updates meant for everyone always reach you."
)
TOPIC_ON = N_("✅ {title}")
TOPIC_OFF = N_("⬜ {title}")
BUTTON_ALL_TOPICS = N_("All topics")
TOPICS_SAVED = N_("Saved.")
NO_TOPICS = N_("<b>{title}</b> has no topics to choose from: subscribers get every update.")
TOPICS_SUBSCRIBE_FIRST = N_(
    "You don't get updates from <b>{title}</b> yet. /subscribe first, then choose topics."
)

# Drafts from a campaign's feed (issue 15)
DRAFT_HEADER = N_(
    "📰 New post on <b>{site}</b> for <b>{campaign}</b>: a draft statement. Nothing reaches "
    "subscribers unless you press a button below."
)
DRAFT_MISSING = N_("Missing from the post: {fields}.")
DRAFT_FIELD_TITLE = N_("title")
DRAFT_FIELD_DATE = N_("date")
DRAFT_FIELD_AUTHOR = N_("author")
DRAFT_FIELD_SOURCE = N_("link")
DRAFT_FIELD_BODY = N_("text")
DRAFT_FIELD_FULL_TEXT = N_(
    "the full text (the feed gives a summary, and the page could not be read)"
)
DRAFT_FILLED_DATE = N_("It is dated {date}, the day it was read.")
DRAFT_FILLED_AUTHOR = N_("It is signed by {organization}, the campaign's organization.")
DRAFT_QUESTION = N_(
    "👆 This is the draft exactly as subscribers of <b>{campaign}</b> would see it. Add it?"
)
DRAFT_CANNOT_ADD = N_(
    "“{title}” cannot be added as a statement: {reason}. Ignore it, or write the statement "
    "into the campaign's files yourself."
)
DRAFT_NO_TEXT = N_("the post has no text")
DRAFT_NO_TITLE = N_("the post has no title")
DRAFT_UNTITLED = N_("A post without a title")
BUTTON_DRAFT_ADD = N_("✅ Add as the latest statement")
BUTTON_DRAFT_ANNOUNCE = N_("📣 Add and announce…")
BUTTON_DRAFT_IGNORE = N_("Ignore")
DRAFT_ADDED = N_(
    "✅ Added to <b>{campaign}</b>: written to <code>{path}</code>, and served from now on."
)
DRAFT_NOT_LATEST = N_(
    "It is dated before “{latest}”, which stays the latest statement: /statements lists the "
    "new one, and /announce would announce “{latest}”."
)
DRAFT_IGNORED = N_("Ignored: this post will not be offered again.")
DRAFT_ALREADY_ADDED = N_("This draft was already added, by {who} on {when}.")
DRAFT_ALREADY_IGNORED = N_("This draft was already ignored, by {who} on {when}.")
DRAFT_BY_YOU = N_("you")
DRAFT_BY_ORGANIZER = N_("organizer {id}")
DRAFT_NO_CAMPAIGN = N_(
    "The campaign {campaign} is not among the campaign files served now, so nothing was added."
)
DRAFT_WRITE_FAILED = N_(
    "The statement file could not be written ({error}), so nothing was added. "
    "The buttons still work."
)
DRAFT_RELOAD_FAILED = N_(
    "The statement was written to <code>{path}</code>, but the campaign files have problems, "
    "so I kept serving the previous content until they are fixed and /reload is sent:\n{problems}"
)
DRAFT_FILE_REFUSED = N_(
    "The statement could not be added: its file had problems, so it was removed again and "
    "nothing changed:\n{problems}"
)
FEED_FAILING = N_(
    "⚠️ The feed of <b>{campaign}</b> cannot be read: {error}\n"
    "I keep trying every {interval} and will tell you when it works again."
)
FEED_WORKS_AGAIN = N_(
    "✅ The feed of <b>{campaign}</b> can be read again, after {failures} failed attempts."
)
FEED_ALL_NEW = N_(
    "⚠️ Every post of the feed of <b>{campaign}</b> looks new at once ({count}): the site has "
    "most likely changed its post addresses. None was offered as a draft; new posts from now "
    "on will be."
)

# Broadcasting any message (issue 13)
REPLY_TAKES_OPTIONS_ONLY = N_(
    "When you reply to a message with /broadcast, that message is what goes out: after the "
    "command, write only the campaign and options (at …, in …, topic:…, lang:…)."
)
MEDIA_PROTECTED = N_(
    "This message is protected from copying and saving, so Telegram will not let me send it "
    "again. Send me the content itself."
)
MEDIA_PAID = N_(
    "Paid media cannot be broadcast: Telegram lets only the sender's own channel sell it."
)
MEDIA_QUIZ_ANSWER = N_(
    "This quiz does not tell me its right answer (a forwarded quiz hides it), so I cannot "
    "send it again. Create the quiz here in our chat and reply to it."
)
MEDIA_UNSUPPORTED = N_(
    "I cannot broadcast this kind of message ({kind}). Send text, a photo, a video, an "
    "animation, a file, an audio or voice message, an album or a poll."
)
ALBUM_FORGOTTEN = N_(
    "I no longer have the other items of this album (I was restarted since it arrived). Send "
    "the album again, then reply to it."
)
BUTTON_TEST = N_("🧪 Send me a test")
TEST_SENT = N_("🧪 Test of broadcast #{id}, as a subscriber gets it (not counted as sent):")
TEST_SENT_ALERT = N_("Test sent.")
TEST_SENT_TO_CHAT = N_("Test sent to you and to the test chat.")
TEST_FAILED = N_("The test could not be sent to {chat}: {error}")

# Two organizers for big sends (issue 14)
BUTTON_APPROVE = N_("✅ Approve")
BUTTON_REJECT = N_("❌ Reject")
APPROVAL_NOBODY = N_(
    "This broadcast would reach {count:,} recipients, more than APPROVAL_THRESHOLD "
    "({threshold:,}): it needs a second organizer's approval, and BOT_ADMINS lists no other "
    "organizer. Nothing was sent."
)
APPROVAL_WAITING = N_(
    "⏳ Broadcast #{id} to <b>{campaign}</b> would reach {count:,} recipients, so it needs a "
    "second organizer: I asked the others. It goes out when one of them approves it (they have "
    "{hours} hours); you will see who did here."
)
APPROVAL_UNREACHABLE = N_(
    "⚠️ None of the other organizers could be reached (each must have started a chat with me): "
    "nobody can approve it yet."
)
APPROVAL_ASK = N_(
    "🔐 {who} asks to send broadcast #{id} to <b>{count:,}</b> recipients of <b>{campaign}</b>: "
    "it is above 👆, as they will get it. Approve it?"
)
APPROVAL_OWN = N_("You cannot approve your own broadcast: another organizer must.")
APPROVAL_EXPIRED = N_(
    "This request is no longer open (after {hours} hours it expires): ask the author to send "
    "it again."
)
APPROVED_BY_YOU = N_("✅ You approved broadcast #{id}: it goes to {total:,} recipients.")
APPROVED_NOTICE = N_("✅ Broadcast #{id} was approved by {who}: it goes to {total:,} recipients.")
REJECTED_BY_YOU = N_("❌ You rejected broadcast #{id}: it will not be sent.")
REJECTED_NOTICE = N_("❌ Broadcast #{id} was rejected by {who}: it will not be sent.")
APPROVAL_WITHDRAWN = N_("↩️ Broadcast #{id} was withdrawn by {who}: it will not be sent.")
BROADCAST_AWAITING = N_("waiting for a second organizer")
CORRECTION_NOBODY = N_(
    "This would change {count:,} delivered copies, more than APPROVAL_THRESHOLD "
    "({threshold:,}): it needs a second organizer's approval, and BOT_ADMINS lists no other "
    "organizer. Nothing was changed."
)
CORRECTION_WAITING = N_(
    "⏳ This would change {count:,} copies of broadcast #{id}, so it needs a second organizer: "
    "I asked the others (they have {hours} hours). You will see who approved it here."
)
CORRECTION_ASK_EDIT = N_(
    "🔐 {who} asks to edit every copy of broadcast #{id} ({count:,}) to read as above 👆. "
    "Approve it?"
)
CORRECTION_ASK_DELETE = N_(
    "🔐 {who} asks to delete every copy of broadcast #{id} ({count:,}) for everyone. Approve it?"
)
CORRECTION_APPROVED = N_("✅ {who} approved this change of broadcast #{id}.")
CORRECTION_REJECTED = N_("❌ {who} rejected this change of broadcast #{id}: nothing was changed.")
CORRECTION_WITHDRAWN = N_("↩️ {who} withdrew this change of broadcast #{id}: nothing was changed.")

# Editing and deleting a sent broadcast (issue 13, items 4 to 6)
BUTTON_EDIT = N_("✏️ Edit")
BUTTON_DELETE = N_("🗑 Delete")
BUTTON_APPLY = N_("✅ Apply")
BUTTON_DELETE_YES = N_("Yes, delete for everyone")
EDIT_ASK = N_(
    "✏️ Reply to this message with the corrected text of broadcast #{id}. A line such as "
    "[ar] starts the text for readers of that language, as in /broadcast."
)
EDIT_ASK_CAPTION = N_(
    "✏️ Reply to this message with the corrected caption of broadcast #{id}. A line such as "
    "[ar] starts the caption for readers of that language, as in /broadcast."
)
EDIT_ASK_EXPIRED = N_(
    "That question has expired (after {minutes} minutes): press Edit in /broadcasts again."
)
EDIT_PREVIEW = N_(
    "👆 Broadcast #{id}, corrected. {count:,} copies delivered so far will be edited in "
    "place, and anyone it has not reached yet gets this text. Apply?"
)
EDIT_REFUSED_POLL = N_(
    "Broadcast #{id} holds a poll, and Telegram does not let a poll be edited: nothing was "
    "changed."
)
EDIT_REFUSED_COUNT = N_(
    "This text makes {new} messages where broadcast #{id} sent {old}: an edit only changes "
    "the text of each message, so make it fit in the same number. Nothing was changed."
)
EDIT_REFUSED_MIXED = N_(
    "Broadcast #{id} mixes text and files, so one corrected text cannot say which message "
    "it is for: nothing was changed."
)
EDIT_REFUSED_CAPTION = N_(
    "A caption can be at most 1,024 characters and this one has {length:,}: nothing was changed."
)
EDIT_REFUSED_LANGUAGE = N_(
    "Broadcast #{id} has no text in {language} to correct (it has: {languages}): nothing was "
    "changed."
)
EDIT_REFUSED_SAME = N_("This is the text broadcast #{id} already has: nothing to edit.")
CORRECTION_NOTHING = N_("Broadcast #{id} has reached nobody yet: there is nothing to correct.")
CORRECTION_CANCELLED = N_("Nothing was changed.")
CORRECTION_ALREADY = N_("This was already applied or cancelled.")
CORRECTION_BUSY = N_(
    "Broadcast #{id} is being corrected already, or was changed since: wait for its report, "
    "then try again."
)
DELETE_CONFIRM = N_(
    "🗑 Delete broadcast #{id} for everyone? The {count:,} copies delivered so far are "
    "deleted from their chats. This cannot be undone."
)
DELETE_CONFIRM_SENDING = N_(" It is still being sent: it is stopped first.")
DELETE_TOO_LATE = N_(
    "Broadcast #{id} went out more than 48 hours ago, and Telegram no longer lets a bot "
    "delete its messages for everyone: nothing was deleted."
)
EDITING = N_("✏️ Editing broadcast #{id}…")
DELETING = N_("🗑 Deleting broadcast #{id} for everyone…")
CORRECTION_RATE = N_("{rate:.1f} copies/s · about {left} left")
EDIT_DONE = N_("✅ Broadcast #{id} edited.")
DELETE_DONE = N_("✅ Broadcast #{id} deleted for everyone.")
EDIT_COUNTS = N_("edited {done:,} · could not be edited {not_done:,}")
DELETE_COUNTS = N_("deleted {done:,} · could not be deleted {not_done:,}")
CORRECTION_GONE = N_("{count:,} were gone already (deleted in the chat)")
CORRECTION_TOO_OLD = N_("{count:,}: older than 48 hours")
CORRECTION_BLOCKED = N_("{count:,}: blocked the bot")
CORRECTION_REASON = N_("{count:,}: {reason}")
CORRECTION_SENT_NEW = N_("{count:,} got the corrected text when they were sent")
CORRECTION_UNCERTAIN = N_("{count:,} were in flight when the bot restarted, and were tried again")
MYDATA_CORRECTIONS = N_("• {count} edits or deletions of broadcasts you asked for")

# The organizers' desk (bot/desk): words of its page, sent to it by /desk/api/me.
SAVE_PROBLEMS = N_(
    "Not saved: the campaign would have these problems, so nothing was written:\n{problems}"
)
SAVE_CHANGED_ON_DISK = N_(
    "Not saved: the file changed on the server since you opened it, so nothing was written. "
    "What changed there:\n<pre>{diff}</pre>"
)
SAVE_CANNOT_WRITE = N_(
    "Not saved: the campaign folder cannot be written ({error}). What you typed is still here: "
    "save again once it can be."
)
# A picture from the desk over Telegram's 10 MB: the rest of it is not read to say how big.
PICTURE_TOO_BIG = N_("{name}: a picture may be 10 MB at most; this one is bigger.")
RESTORE_GONE = N_("Version {id} cannot be restored: its files are no longer kept.")
RELOAD_OLDER = N_(
    "Not reloaded: this server's campaign files hold an older version than the one published "
    "on {when}, which stays served everywhere."
)
DASHBOARD_BUTTON = N_("Dashboard")
DASHBOARD_OPEN = N_("The desk: your campaign's numbers and broadcasts, in Telegram.")
DASHBOARD_OFF = N_("The desk is not set up: the bot's operator sets DESK_URL to turn it on.")
DESK_NOT_ORGANIZER = N_("The desk is for the campaign's organizers only.")
DESK_OPEN_AGAIN = N_("Open the desk again from the bot's chat in Telegram.")
DESK_LOADING = N_("Loading…")
DESK_EMPTY = N_("Write the message first.")
DESK_COMPOSE = N_("New broadcast")
DESK_CAMPAIGN = N_("Campaign")
DESK_MESSAGE = N_("Message (Telegram formatting; a line [ar] starts the Arabic text)")
DESK_TOPIC = N_("Topic")
DESK_TOPIC_ALL = N_("Everyone")
DESK_LANGUAGE_ONLY = N_("Only readers of this language (a code such as es; empty: all)")
DESK_WHEN = N_("When (empty: now; in 2h; at 18:00)")
DESK_PREVIEW = N_("Preview")
DESK_RECIPIENTS = N_("{count} recipients, {messages} message(s) each")
DESK_VERSION = N_("{language}: {count} readers")
# What a published version changed, when the version before it no longer keeps its files.
HISTORY_BEFORE_GONE = N_(
    "Version {id}, published before this one, is no longer kept: what this one changed cannot "
    "be shown."
)
DESK_CONFIRM_SEND = N_("Send broadcast #{id} to {count} recipients?")
DESK_HELD = N_("Waiting for a second organizer's approval (asked in their chat).")
DESK_SCHEDULED = N_("Scheduled: broadcast #{id} goes at {when}.")
DESK_TEST_SENT = N_("Test sent to your chat with the bot.")
DESK_NO_CAMPAIGN = N_("Choose a campaign first.")
DESK_SENT_HERE = N_("📤 Broadcast #{id}, sent from the desk: its progress shows here too.")
DESK_UNREACHABLE = N_("The bot cannot be reached. Try again in a moment.")
DESK_PEOPLE = N_("People")
DESK_GROUPS = N_("Groups")
DESK_NET_7 = N_("Net, 7 days")
DESK_NET_30 = N_("Net, 30 days")
DESK_CHART = N_("Joined and left, last 30 days")
DESK_JOINED = N_("joined")
DESK_LEFT = N_("left")
DESK_SOURCES = N_("Sign-ups by source (still subscribed / all)")
DESK_LANGUAGES = N_("Languages")
DESK_TOPICS = N_("Topics")
DESK_PLEDGES = N_("Pledges")
DESK_BROADCASTS = N_("Broadcasts")
DESK_RATE = N_("{rate} a second")
DESK_APPROVED_BY = N_("approved by {who}")
DESK_STATE_AWAITING = N_("waiting for approval")
DESK_STATE_SCHEDULED = N_("scheduled")
DESK_STATE_SENDING = N_("sending")
DESK_STATE_DONE = N_("sent")
DESK_STATE_CANCELLED = N_("stopped")
DESK_CORRECTED_HERE = N_(
    "✏️ Broadcast #{id}, corrected from the desk: its progress shows here too."
)
DESK_CORRECTING = N_(
    "Started: every copy is being corrected. The progress shows in your chat too."
)
DESK_CORRECTION_AWAITING = N_("A change of this broadcast waits for a second organizer.")
DESK_EDIT_TITLE = N_("Correct broadcast #{id}")
DESK_DRAFTS = N_("Drafts from the feed")
DESK_WRITE = N_("The campaign's words")
DESK_WRITE_OPEN = N_("Edit the campaign")
DESK_FIELD_TITLE = N_("Title")
DESK_FIELD_SUMMARY = N_("Summary")
DESK_FIELD_SLOGANS = N_("Slogans")
DESK_FIELD_ACTIONS = N_("Actions")
DESK_FIELD_DESCRIPTION = N_("What to do")
DESK_ADD_SLOGAN = N_("Add a slogan")
DESK_ADD_ACTION = N_("Add an action")
DESK_REMOVE = N_("Remove")
DESK_SAVE = N_("Save")
DESK_FIELD_ORGANIZATION = N_("Organization")
DESK_FIELD_STATEMENTS = N_("Statements")
DESK_FIELD_DATE = N_("Date (YYYY-MM-DD, or YYYY-MM)")
DESK_FIELD_DAY = N_("Day (YYYY-MM-DD)")
DESK_FIELD_TIME = N_("Time (HH:MM)")
DESK_FIELD_AUTHOR = N_("Signed by")
DESK_FIELD_ROLE = N_("Their role")
DESK_FIELD_SOURCE = N_("Link to the original")
DESK_FIELD_BODY = N_("Text (a blank line between paragraphs)")
DESK_FIELD_CLOSING = N_("Closing lines")
DESK_FIELD_IMAGE = N_("Picture (a file in the campaign folder, or an https:// link)")
DESK_FIELD_LINK = N_("Link")
DESK_FIELD_PLACE = N_("Place")
DESK_ADD_STATEMENT = N_("Add a statement")
DESK_ADD_LINE = N_("Add a line")
DESK_MOVE_UP = N_("Up")
DESK_MOVE_DOWN = N_("Down")
DESK_CHOOSE_PICTURE = N_("Choose a picture")
DESK_LANGUAGES_SHOWN = N_("Languages to write in")
DESK_SHOW_AS = N_("As subscribers will get it")
DESK_SHOW_LANGUAGE = N_("In which language")
DESK_SHOW_WELCOME = N_("The welcome")
DESK_HISTORY = N_("History")
DESK_HISTORY_LINE = N_("Version {id}: {when}, by {who} ({files} files)")
DESK_HISTORY_LINE_START = N_(
    "Version {id}: {when}, the files as the bot found them ({files} files)"
)
DESK_WHAT_CHANGED = N_("What changed")
DESK_RESTORE = N_("Restore")
DESK_RESTORE_CONFIRM = N_(
    "Put the campaign back as version {id} had it, for every subscriber? "
    "It is published as a new version: nothing is lost."
)
DESK_EXPORT = N_("Download the subscriber list (CSV)")
DESK_LINK_EXPIRED = N_("This download link has expired: ask for the list again in the desk.")
