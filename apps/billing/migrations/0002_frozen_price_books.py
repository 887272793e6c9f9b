"""Published price books are history: the database refuses to change or delete them or their rows.
A price change is a new version (TRUNCATE stays possible for the table owner, as for the audit trail)."""

from django.db import migrations

CHILD_TABLES = ["billing_priceentry", "billing_offpeakdiscount", "billing_tierdiscount", "billing_volumeband"]

SQL = """
CREATE FUNCTION billing_price_book_frozen() RETURNS trigger AS $$
BEGIN
    IF OLD.published_at IS NOT NULL THEN
        RAISE EXCEPTION 'price book % is published and cannot be changed; publish a new version', OLD.id;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER billing_price_book_frozen BEFORE UPDATE OR DELETE ON billing_pricebook
    FOR EACH ROW EXECUTE FUNCTION billing_price_book_frozen();

CREATE FUNCTION billing_price_row_frozen() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND EXISTS (
            SELECT 1 FROM billing_pricebook WHERE id = OLD.book_id AND published_at IS NOT NULL) THEN
        RAISE EXCEPTION 'price book % is published and cannot be changed; publish a new version', OLD.book_id;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF EXISTS (SELECT 1 FROM billing_pricebook WHERE id = NEW.book_id AND published_at IS NOT NULL) THEN
        RAISE EXCEPTION 'price book % is published and cannot be changed; publish a new version', NEW.book_id;
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
""" + "".join(f"""
CREATE TRIGGER {table}_frozen BEFORE INSERT OR UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION billing_price_row_frozen();
""" for table in CHILD_TABLES)

REVERSE = "".join(f"DROP TRIGGER {table}_frozen ON {table};" for table in CHILD_TABLES) + """
DROP TRIGGER billing_price_book_frozen ON billing_pricebook;
DROP FUNCTION billing_price_row_frozen();
DROP FUNCTION billing_price_book_frozen();
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
