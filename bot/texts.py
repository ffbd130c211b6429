"""Every interface sentence the bot says, in one place (campaign wording lives in YAML)."""

from __future__ import annotations

# Buttons
BUTTON_STATEMENT = "📄 Statement"
BUTTON_SLOGANS = "📣 Slogans"
BUTTON_ACTIONS = "✊ Actions"
BUTTON_ARCHIVE = "🗂 All statements"
BUTTON_SUBSCRIBE = "🔔 Get updates"
BUTTON_UNSUBSCRIBE = "🔕 Stop updates"
BUTTON_SHARE = "↗️ Share"
BUTTON_CAMPAIGNS = "📋 Campaigns"
BUTTON_MYDATA = "🔒 My data"
BUTTON_HELP = "ℹ️ Help"
BUTTON_MENU = "☰ Menu"
BUTTON_FORGET = "🗑 Erase my data"
BUTTON_FORGET_YES = "Yes, erase everything"
BUTTON_CANCEL = "Cancel"
BUTTON_SEND = "✅ Send"

# Commands, as published to Telegram's command menu
PUBLIC_COMMANDS = (
    ("start", "Open the campaign menu"),
    ("statement", "Read the latest statement"),
    ("statements", "Earlier statements"),
    ("slogans", "The campaign's slogans"),
    ("actions", "What you can do"),
    ("subscribe", "Get updates from this campaign"),
    ("unsubscribe", "Stop getting updates"),
    ("campaigns", "Choose a campaign"),
    ("mydata", "See what the bot stores about you"),
    ("forget", "Erase everything stored about you"),
    ("help", "How this bot works"),
)
ADMIN_COMMANDS = (
    ("broadcast", "Organizers: send a message to subscribers"),
    ("announce", "Organizers: send the latest statement to subscribers"),
    ("broadcasts", "Organizers: scheduled, running and recent broadcasts"),
    ("stats", "Organizers: subscriber numbers"),
    ("export", "Organizers: subscriber list as CSV"),
    ("link", "Organizers: a sign-up link and QR code for one source"),
    ("reload", "Organizers: re-read the campaign files"),
)

WELCOME = "Welcome. This bot shares <b>{title}</b> from {organization}."
MENU_HINT = "Choose what to read below, or get updates when there is news."
UNKNOWN_CAMPAIGN = "I don't know the campaign “{payload}”, so here is {title}."
PICK_CAMPAIGN = "This bot serves several campaigns. Which one would you like?"
CAMPAIGN_LINE = "• <b>{title}</b> — {organization}"

HELP = (
    "<b>How this bot works</b>\n"
    "/statement — the latest statement\n"
    "/statements — earlier statements\n"
    "/slogans — the campaign's slogans\n"
    "/actions — what you can do\n"
    "/subscribe — get updates; /unsubscribe — stop them at any time\n"
    "/campaigns — choose a campaign\n"
    "/mydata — see what is stored about you; /forget — erase it\n\n"
    "<b>Privacy.</b> When you subscribe the bot stores only your numeric Telegram id, the "
    "campaign, the time, your language code and the link you came from. It never stores your "
    "name, username or messages."
)
HELP_ADMIN = (
    "\n\n<b>Organizers</b>\n"
    "/broadcast [campaign] text — preview, then send to every subscriber\n"
    "/broadcast [campaign] at 2026-12-01 18:00 text (or at 18:00, or in 2h30m) — schedule it\n"
    "/announce [campaign] — the same, with the latest statement\n"
    "/broadcasts — scheduled, running and recent broadcasts; stop or cancel them\n"
    "/stats — numbers; /export — CSV of subscribers; /reload — re-read campaign files\n"
    "/link [campaign] source — a link and QR code whose sign-ups /stats counts as that source"
)

STATEMENT_BYLINE = "<i>{date}</i> · {organization}"
STATEMENT_SIGNATURE = "— <b>{author}</b>{role}"
STATEMENT_SOURCE = '<a href="{url}">Original source</a>'
ARCHIVE_TITLE = "<b>Statements of {title}</b>, newest first:"
ARCHIVE_LINE = "{number}. <b>{title}</b> — <i>{date}</i>"
NO_ARCHIVE = "There are no earlier statements yet."
SLOGANS_TITLE = "<b>Slogans</b>"
NO_SLOGANS = "This campaign has no slogans yet."
ACTIONS_TITLE = "<b>What you can do</b>"
NO_ACTIONS = "This campaign lists no actions yet."
ACTION_WHEN = "🗓 {when}"
ACTION_PLACE = "📍 {place}"

SUBSCRIBED = (
    "You will get updates from <b>{title}</b>: new statements and calls to action from the "
    "organizers. Send /unsubscribe at any time to stop."
)
ALREADY_SUBSCRIBED = "You already get updates from <b>{title}</b>. /unsubscribe stops them."
GROUP_SUBSCRIBED = (
    "This group will get updates from <b>{title}</b>. A group admin can send /unsubscribe "
    "at any time to stop them."
)
GROUP_ALREADY_SUBSCRIBED = "This group already gets updates from <b>{title}</b>."
UNSUBSCRIBED = "Done: no more updates from <b>{title}</b>. /subscribe brings them back."
NOT_SUBSCRIBED = "You were not getting updates from <b>{title}</b>."
GROUP_ADMINS_ONLY = "Only this group's admins can change its updates."

MYDATA_NONE = (
    "The bot stores nothing about you: you have not subscribed to anything. "
    "It never stores names, usernames or messages."
)
MYDATA_TITLE = "<b>What the bot stores about you</b> (Telegram id {user_id}):"
MYDATA_LINE = (
    "• campaign <b>{campaign}</b>: {status}, chat type {chat_type}, language {language}, "
    "came from {source}, subscribed {subscribed}, last change {updated}"
)
MYDATA_DELIVERIES = "• {count} delivery records (which broadcasts reached you, and when)"
MYDATA_AUDIT = "• {count} organizer actions in the audit log"
MYDATA_BROADCASTS = "• {count} broadcasts you created"
MYDATA_FOOTER = "Nothing else: no name, no username, no messages. /forget erases all of it."
FORGET_CONFIRM = (
    "Erase everything the bot stores about you? Your subscriptions end and every record of "
    "your Telegram id is deleted. This cannot be undone."
)
FORGOTTEN = "Done: everything stored about you is erased ({count} records)."
FORGET_CANCELLED = "Nothing was erased."
PRIVATE_ONLY = "Please use this in a private chat with me."

SLOW_DOWN = "You are sending commands very fast. Please wait a few seconds."
BUTTON_EXPIRED = "This button is no longer valid. Send /start for a fresh menu."
UNKNOWN_COMMAND = "I don't know that command. /help lists what I can do."
ERROR = "Sorry, something went wrong on our side. Please try again in a minute."
STORAGE_DOWN = (
    "Sorry, I cannot reach my records right now, so nothing was saved. "
    "Please try again in a minute."
)

# Pledges
BUTTON_PLEDGE = "✊ I'm in: {title}"
BUTTON_PLEDGED = "✅ I'm in: {title} (tap to take back)"
PLEDGED = "Thank you! You are counted in. I will remind you {lead} before it starts."
PLEDGED_UNDATED = "Thank you! You are counted in."
UNPLEDGED = "Taken back. You are no longer counted for this one."
REMINDER = "⏰ Reminder: you said you are in.\n\n{action}"
STATS_PLEDGES = "<b>Pledges</b> (people who said “I'm in”)"
STATS_PLEDGE_LINE = "{campaign} · {title}: {count}"
MYDATA_PLEDGES = "• {count} pledges to join actions (and whether you were reminded)"

# Inline mode (@bot in any chat)
INLINE_SLOGAN = "Slogan · {title}"
INLINE_READ_ALL = "Read it all"
INLINE_JOIN = "Get updates"

# Organizers
NOT_ADMIN = "This command is for the campaign's organizers only."
CONFIRMATION_EXPIRED = (
    "This confirmation has expired (after {minutes} minutes). Send the command again."
)
GROUP_NOT_ALLOWED = (
    "Only the campaign's organizers can add this bot to a group or channel, so I am leaving. "
    "Ask an organizer to add me."
)
ADMIN_PRIVATE_ONLY = "Organizer commands work only in a private chat with me."
BROADCAST_USAGE = (
    "Write the message after the command: /broadcast [campaign] text. Campaigns: {campaigns}."
)
WHICH_CAMPAIGN = (
    "Several campaigns are served: say which one first, e.g. /{command} {example}. "
    "Campaigns: {campaigns}."
)
BROADCAST_PREVIEW = (
    "👆 This is exactly what subscribers of <b>{campaign}</b> will receive "
    "({parts} message{plural}).\nRecipients now: <b>{count}</b>. {question}"
)
BROADCAST_NO_RECIPIENTS = (
    "Nobody is subscribed to <b>{campaign}</b> yet, so there is no one to send to."
)
BROADCAST_QUEUED = "📤 Sending… recipients: {total}"
BROADCAST_ALREADY = "This broadcast was already sent or cancelled."
BROADCAST_CANCELLED = "Broadcast cancelled; nothing was sent."
BROADCAST_PROGRESS = "📤 Broadcast #{id} to <b>{campaign}</b>"
BROADCAST_RATE = "{rate:.1f} messages/s · about {left} left"
BROADCAST_COUNTS = "sent {sent:,} · blocked {blocked:,} · failed {failed:,}"
BROADCAST_DONE = "✅ Broadcast #{id} to <b>{campaign}</b> finished{took}. Recipients: {total:,}"
BROADCAST_STOPPED = (
    "⏹ Broadcast #{id} to <b>{campaign}</b> was stopped{took}. Recipients: {total:,}"
)
BROADCAST_TOOK = " in {took}"
BROADCAST_NOT_SENT = " · not sent {cancelled:,}"
BROADCAST_UNCERTAIN = (
    "\n⚠️ {uncertain} were in flight when the bot restarted and were sent again; "
    "some of them may have got it twice."
)
BUTTON_STOP = "⏹ Stop"
BUTTON_UNSCHEDULE = "✖ Cancel"
BUTTON_SCHEDULE = "📅 Schedule"
BUTTON_STOP_YES = "Yes, stop it"
BUTTON_STOP_NO = "No, keep it"
BROADCAST_SEND_NOW = "Send it?"
BROADCAST_PREVIEW_WHEN = "\n📅 Schedule it to go out {when}?"
SCHEDULED_FOR = "on {when}, in {left}"
BROADCAST_SCHEDULED = (
    "📅 Broadcast #{id} to <b>{campaign}</b> is scheduled: it goes out {when}.\n"
    "Recipients now: {total:,}; whoever is subscribed then gets it."
)
BROADCAST_SCHEDULED_ALERT = "Scheduled. /broadcasts lists it."
SCHEDULE_PROBLEM = (
    "I can't schedule that: {problem}. Write /broadcast [campaign] at 2026-12-01 18:00 text, "
    "at 18:00 text, or in 2h30m text."
)
ANNOUNCE_USAGE = "Write /announce [campaign], optionally followed by at … or in … to schedule it."
STOP_SENDING_CONFIRM = "Stop broadcast #{id}? {left} recipients have not got it yet."
STOP_SCHEDULED_CONFIRM = "Cancel scheduled broadcast #{id}? Nobody has got it yet."
STOP_KEPT = "Broadcast #{id} goes on."
STOPPING = "Broadcast #{id} stopped. Messages already on their way finish; its report follows."
UNSCHEDULED = "Scheduled broadcast #{id} was cancelled; nothing was sent."
BROADCASTS_TITLE = "<b>Broadcasts</b>: scheduled, running, and the latest finished"
BROADCASTS_NONE = "No broadcasts yet. /broadcast writes one."
STATS_TITLE = "<b>Subscribers</b>"
STATS_LINE = (
    "<b>{campaign}</b>: people {private} · groups {groups} · new in the last 7 days {new} · "
    "unsubscribed {unsubscribed} · blocked or removed the bot {blocked}"
)
STATS_NONE = "No subscribers yet."
CHART_TITLE = "Sign-ups"
STATS_SOURCES = "<b>Sign-ups by source</b> (still subscribed / all)"
STATS_SOURCE_LINE = "{campaign} · {source}: {active} / {total}"
STATS_NO_SOURCE = "no link"
LINK_USAGE = (
    "Say where the link will be handed out: /link [campaign] source, e.g. /link flyer_march "
    "(A-Z a-z 0-9 _ -, up to {limit} characters here). Campaigns: {campaigns}."
)
LINK_REPLY = (
    "Sign-up link for <b>{campaign}</b> from <b>{source}</b>:\n{link}\n\n"
    "Sign-ups through it appear under “{source}” in /stats. The QR code below opens the same link."
)
LINK_CAPTION = "{campaign} · {source}"
STATS_BROADCASTS = "<b>Last broadcasts</b>"
STATS_BROADCAST_LINE = (
    "#{id} {campaign} {date}: {state}, sent {sent}/{total}, blocked {blocked}, failed {failed}"
)
EXPORT_CAPTION = "Subscriber list, rows: {count}. Keep this file safe: it identifies people."
RELOADED = "Campaign files re-read: {summary}."
RELOAD_FAILED = (
    "The campaign files have problems, so I kept serving the previous content:\n{problems}"
)
