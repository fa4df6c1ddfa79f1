"""User-interface text in English and Simplified Chinese; adjectives come from the taxonomy table."""

from __future__ import annotations

LANGUAGES = ("en", "zh-Hans")

CATALOGUE: dict[str, tuple[str, str]] = {
    "app_title": ("eMotions labelling", "eMotions 情感标注"),
    "login": ("Log in", "登录"),
    "logout": ("Log out", "退出"),
    "username": ("User name", "用户名"),
    "password": ("Password", "密码"),
    "language": ("Language", "语言"),
    "label": ("Label", "标注"),
    "dashboard": ("Dashboard", "看板"),
    "expert_queue": ("Final review", "最终复审"),
    "mos": ("MOS rating", "MOS 评分"),
    "admin": ("Admin", "管理"),
    "qualification": ("Qualification test", "资格测试"),
    "qualification_intro": ("Label each gold video; you need {mark}% correct to start real tasks.",
                            "请标注每个测试视频；正确率达到 {mark}% 才能开始正式任务。"),
    "qualification_passed": ("You passed the qualification test.", "你已通过资格测试。"),
    "qualification_failed": ("Not passed (score {score}%). Attempts left: {left}.",
                             "未通过（得分 {score}%）。剩余次数：{left}。"),
    "how_feel": ("How does this video make you feel? Pick one word.", "这个视频让你有什么感受？请选择一个词。"),
    "filter": ("Filter words (/)", "筛选词语 (/)"),
    "confidence": ("Confidence", "置信度"),
    "submit_next": ("Submit and next (Enter)", "提交并下一个 (Enter)"),
    "report_broken": ("Report broken video (B)", "报告视频问题 (B)"),
    "report_reason": ("Reason", "原因"),
    "reason_broken": ("Broken / does not play", "损坏 / 无法播放"),
    "reason_no_audio": ("No sound", "没有声音"),
    "reason_inappropriate": ("Inappropriate", "内容不当"),
    "reason_other": ("Other", "其他"),
    "replay": ("Replay (R)", "重播 (R)"),
    "speed": ("Speed", "速度"),
    "done_count": ("Done: {n}", "已完成：{n}"),
    "queue_empty": ("No more videos for you right now. Thank you!", "目前没有更多视频，谢谢！"),
    "stage": ("Stage", "阶段"),
    "stage_member": ("member vote", "成员投票"),
    "stage_leader": ("leader vote (4th)", "组长投票（第4票）"),
    "stage_exchange": ("exchange leader vote (5th)", "交换组长投票（第5票）"),
    "stage_expert": ("expert final review", "专家最终复审"),
    "stage_crosscheck": ("cross-check re-label", "交叉检验复标"),
    "previous_votes": ("Previous votes", "此前投票"),
    "shortcuts": ("Keys: Space play/pause · R replay · ←/→ choose word · / filter · 1-9, 0 confidence · "
                  "[ ] speed · Enter submit · S skip · B report · L language",
                  "快捷键：空格 播放/暂停 · R 重播 · ←/→ 选词 · / 筛选 · 1-9、0 置信度 · [ ] 速度 · "
                  "Enter 提交 · S 跳过 · B 报告 · L 切换语言"),
    "saved": ("Saved", "已保存"),
    "saving": ("Saving…", "保存中…"),
    "offline": ("Not saved yet: will retry", "尚未保存：将自动重试"),
    "retrying": ("Not saved yet: the server cannot be reached. Your choice is kept on this device and sent "
                 "again in {s} s.", "尚未保存：暂时无法连接服务器。你的选择已保存在本设备上，{s} 秒后自动重新发送。"),
    "sent_later": ("Saved (sent after a delay)", "已保存（延迟后发送成功）"),
    "not_counted": ("Your choice was not counted.", "你的选择未被计入。"),
    "next_clip": ("Next clip…", "下一个视频…"),
    "refused_sample_excluded": ("This clip was excluded by your leader.", "该视频已被组长排除。"),
    "refused_moved_group": ("You were moved to another group; this clip is no longer yours.",
                            "你已被调到其他组，此视频不再由你标注。"),
    "refused_already_voted": ("You already voted on this clip with another word; your first vote stands.",
                              "你已用另一个词为该视频投过票，以第一次投票为准。"),
    "refused_lease_expired": ("Your reservation of this clip ran out and another annotator took it.",
                              "你对该视频的保留时间已过，已由其他标注员接手。"),
    "refused_no_free_seat": ("Every place for a vote on this clip is taken.", "该视频的投票名额已满。"),
    "refused_stage_closed": ("This round of voting on the clip is already closed.", "该视频的本轮投票已结束。"),
    "refused_sample_resolved": ("This clip already has its final label.", "该视频已有最终标签。"),
    "refused_client_id_reused": ("This submission was already used for another vote.", "该提交编号已被另一票使用。"),
    "refused_not_found": ("This clip is not available to you.", "你无法访问该视频。"),
    "refused_forbidden": ("You may not vote on this clip.", "你无权为该视频投票。"),
    "refused_qualification_required": ("Pass the qualification test first.", "请先通过资格测试。"),
    "refused_other": ("The server refused it: {message}", "服务器拒绝了该投票：{message}"),
    "skip": ("Skip (S)", "跳过 (S)"),
    "skipped": ("Skipped: the clip goes back to the queue.", "已跳过：该视频已退回队列。"),
    "members": ("Members", "成员"),
    "votes": ("Votes", "投票数"),
    "waiting_leader": ("Waiting for your vote (1-1-1)", "等待你投票（1-1-1）"),
    "waiting_exchange": ("Exchanged from other groups", "来自其他组的交换样本"),
    "reports": ("Reports", "报告"),
    "exclude": ("Exclude", "排除"),
    "dismiss": ("Dismiss", "驳回"),
    "vote_now": ("Vote now", "去投票"),
    "progress": ("Progress", "进度"),
    "mos_intro": ("Rate how well the label fits the video.", "请评价标签与视频的匹配程度。"),
    "mos_1": ("1 Bad", "1 差"), "mos_2": ("2 Poor", "2 较差"), "mos_3": ("3 Fair", "3 一般"),
    "mos_4": ("4 Good", "4 好"), "mos_5": ("5 Excellent", "5 很好"),
    "label_shown": ("Label", "标签"),
    "create_user": ("Create user", "创建用户"),
    "role": ("Role", "角色"),
    "group": ("Group", "组"),
    "distribute": ("Distribute", "分发"),
    "batch_size": ("Batch size", "批量大小"),
    "error": ("Something went wrong", "出错了"),
    "cat_Excitation": ("Excitation", "兴奋"), "cat_Fear": ("Fear", "恐惧"), "cat_Neutral": ("Neutral", "中性"),
    "cat_Relaxation": ("Relaxation", "放松"), "cat_Sadness": ("Sadness", "悲伤"), "cat_Tension": ("Tension", "紧张"),
    "back": ("Back", "返回"),
}


def normalise(language: str | None) -> str:
    """'zh', 'zh-CN', 'zh-Hans' -> 'zh-Hans'; everything else -> 'en'."""
    return "zh-Hans" if (language or "").lower().startswith("zh") else "en"


def translate(key: str, language: str, **values: object) -> str:
    """The text for `key` in `language`, with {placeholders} filled; the key itself if unknown."""
    pair = CATALOGUE.get(key)
    if pair is None:
        return key
    text = pair[1] if normalise(language) == "zh-Hans" else pair[0]
    return text.format(**values) if values else text


def categories(language: str) -> dict[str, str]:
    """Category name -> its name in `language` (for leaders, experts and the MOS page)."""
    return {key[4:]: translate(key, language) for key in CATALOGUE if key.startswith("cat_")}


def gettext(text: str, language: str, **values: object) -> str:
    """Stand-in until the gettext catalogues land: the English text with %(name)s placeholders filled."""
    return text % values if values else text


def template_gettext(text: str, **values: object) -> str:
    """`_("English text", n=1)` in templates (stand-in, see `gettext`)."""
    return gettext(text, "en", **values)
