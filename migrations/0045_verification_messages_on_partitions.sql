-- The trigger that masks a code once its message is final (migration 0023) reads this table:
-- dropped while the table is rebuilt (a rename checks every trigger), then made again as it was.
DROP TRIGGER IF EXISTS `verification_message_masked`;--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_verification_messages` (
	`message_id` text PRIMARY KEY NOT NULL,
	`verification_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`masked_body` text NOT NULL,
	`masked_wechat` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO `__new_verification_messages`("message_id", "verification_id", "tenant_id", "masked_body", "masked_wechat", "created_at") SELECT "message_id", "verification_id", "tenant_id", "masked_body", "masked_wechat", "created_at" FROM `verification_messages`;--> statement-breakpoint
DROP TABLE `verification_messages`;--> statement-breakpoint
ALTER TABLE `__new_verification_messages` RENAME TO `verification_messages`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `verification_messages_tenant` ON `verification_messages` (`tenant_id`,`created_at`);--> statement-breakpoint
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
