"""Published rule versions are history: the database refuses to change or delete them, their taper steps
or their region and model lists. A change is a new version (as for price books)."""

from django.db import migrations

CHILD_TABLES = ["vouchers_taperstep", "vouchers_ruleversion_compute_regions",
                "vouchers_ruleversion_accelerator_models"]

SQL = """
CREATE FUNCTION vouchers_rule_version_frozen() RETURNS trigger AS $$
BEGIN
    IF OLD.published_at IS NOT NULL THEN
        RAISE EXCEPTION 'rule version % is published and cannot be changed; publish a new version', OLD.id;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER vouchers_rule_version_frozen BEFORE UPDATE OR DELETE ON vouchers_ruleversion
    FOR EACH ROW EXECUTE FUNCTION vouchers_rule_version_frozen();

CREATE FUNCTION vouchers_rule_row_frozen() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND EXISTS (
            SELECT 1 FROM vouchers_ruleversion WHERE id = OLD.{fk} AND published_at IS NOT NULL) THEN
        RAISE EXCEPTION 'rule version % is published and cannot be changed; publish a new version', OLD.{fk};
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF EXISTS (SELECT 1 FROM vouchers_ruleversion WHERE id = NEW.{fk} AND published_at IS NOT NULL) THEN
        RAISE EXCEPTION 'rule version % is published and cannot be changed; publish a new version', NEW.{fk};
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
"""


def _function(fk: str, name: str) -> str:
    body = SQL.split("CREATE FUNCTION vouchers_rule_row_frozen()")[1]
    return f"CREATE FUNCTION {name}()" + body.replace("{fk}", fk)


FORWARD = (SQL.split("CREATE FUNCTION vouchers_rule_row_frozen()")[0]
           + _function("version_id", "vouchers_step_frozen")
           + _function("ruleversion_id", "vouchers_rule_m2m_frozen")
           + "".join(f"""
CREATE TRIGGER {table}_frozen BEFORE INSERT OR UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {'vouchers_step_frozen' if table == 'vouchers_taperstep' else 'vouchers_rule_m2m_frozen'}();
""" for table in CHILD_TABLES))

REVERSE = "".join(f"DROP TRIGGER {table}_frozen ON {table};" for table in CHILD_TABLES) + """
DROP TRIGGER vouchers_rule_version_frozen ON vouchers_ruleversion;
DROP FUNCTION vouchers_rule_m2m_frozen();
DROP FUNCTION vouchers_step_frozen();
DROP FUNCTION vouchers_rule_version_frozen();
"""


class Migration(migrations.Migration):
    dependencies = [("vouchers", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
