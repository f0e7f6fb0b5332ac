ALTER TABLE `verification_messages` ADD `masked_wechat` text;--> statement-breakpoint
DROP TRIGGER IF EXISTS `verification_message_masked`;
--> statement-breakpoint
-- A message that carried a verification code keeps no code once it is final: the body (the SMS
-- text, whose end is replaced so that a signature in front stays; a WeChat message's summary),
-- the `code` template parameter (for providers that render their own template), and a WeChat
-- payload's `data.code` and SMS fallback. Found by the code's own row, written at the send, not
-- by the message's kind: the SMS part of a `channel: "auto"` code goes as the tenant's template.
CREATE TRIGGER `verification_message_masked` AFTER UPDATE OF `status` ON `messages`
WHEN NEW.`status` IN ('delivered', 'undelivered', 'failed', 'canceled', 'expired')
  AND OLD.`status` IS NOT NEW.`status`
  AND json_extract(NEW.`metadata`, '$.verification_id') IS NOT NULL
BEGIN
  UPDATE `messages` SET
    `body` = (
      SELECT CASE
        WHEN NEW.`channel` = 'wechat' AND v.`masked_wechat` IS NOT NULL THEN v.`masked_wechat`
        WHEN length(NEW.`body`) >= length(v.`masked_body`)
          THEN substr(NEW.`body`, 1, length(NEW.`body`) - length(v.`masked_body`)) || v.`masked_body`
        ELSE v.`masked_body`
      END
      FROM `verification_messages` v WHERE v.`message_id` = NEW.`id`
    ),
    `template_params` = CASE WHEN NEW.`template_params` IS NULL THEN NULL ELSE (
      SELECT json_group_array(CASE
        WHEN json_extract(p.`value`, '$.name') = 'code' THEN json_object(
          'name', 'code',
          'value', substr('**********', 1, length(json_extract(p.`value`, '$.value')))
        )
        ELSE json(p.`value`)
      END)
      FROM json_each(NEW.`template_params`) p
    ) END,
    `payload` = CASE WHEN NEW.`payload` IS NULL THEN NULL ELSE json_remove(
      json_replace(
        NEW.`payload`,
        '$.data.code.value',
        substr('**********', 1, length(json_extract(NEW.`payload`, '$.data.code.value')))
      ),
      '$.fallback'
    ) END
  WHERE `id` = NEW.`id`
    AND EXISTS (SELECT 1 FROM `verification_messages` WHERE `message_id` = NEW.`id`);
END;
