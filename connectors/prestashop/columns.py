"""The column types and table helpers of PrestaShop's tables, as MySQL declares them (and their
nearest SQLite equivalents): shared by the catalogue (schema.py, db_structure.py) and the orders
(orders.py)."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

_MYSQL = ("mysql", "mariadb")

UINT = sa.Integer().with_variant(mysql.INTEGER(unsigned=True), *_MYSQL)
INT = sa.Integer()
FLAG = sa.SmallInteger().with_variant(mysql.TINYINT(1, unsigned=True), *_MYSQL)  # tinyint(1) unsigned
TINY = sa.SmallInteger().with_variant(mysql.TINYINT(3, unsigned=True), *_MYSQL)
STINY = sa.SmallInteger().with_variant(mysql.TINYINT(1), *_MYSQL)  # tinyint(1), signed
USMALL = sa.SmallInteger().with_variant(mysql.SMALLINT(2, unsigned=True), *_MYSQL)
UMEDIUM = sa.Integer().with_variant(mysql.MEDIUMINT(8, unsigned=True), *_MYSQL)


def enum(*values: str) -> sa.types.TypeEngine:
    """MySQL's ENUM of `values`; text elsewhere."""
    return sa.String(max(len(v) for v in values)).with_variant(mysql.ENUM(*values), *_MYSQL)


REDIRECT_TYPES = enum("", "404", "410", "301-product", "302-product", "301-category", "302-category",
                       "200-displayed", "404-displayed", "410-displayed", "default")


class PsDecimal(sa.TypeDecorator):
    """decimal(p,s) (prices, impacts, weights: 20,6), read as `Decimal` on every backend.

    MySQL returns exact Decimals. SQLite stores a REAL; its shortest repr is the value written
    (prices have at most 6 decimals and far fewer than 15 digits), so `Decimal(repr(x))` is exact
    and avoids SQLAlchemy's float-to-Decimal warning.
    """

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int = 20, scale: int = 6):
        super().__init__(precision, scale)
        self.precision, self.scale = precision, scale

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Numeric(self.precision, self.scale, asdecimal=False))
        return dialect.type_descriptor(sa.Numeric(self.precision, self.scale))

    def process_result_value(self, value, dialect):
        if value is None or isinstance(value, Decimal):
            return value
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


DECIMAL = PsDecimal()


def table(name: str, md: sa.MetaData, *columns: sa.Column) -> sa.Table:
    """A table created as PrestaShop's are on MySQL: InnoDB, utf8mb4."""
    return sa.Table(name, md, *columns, mysql_engine="InnoDB", mysql_charset="utf8mb4")


def col(name: str, type_, *, nullable: bool = False, **kw) -> sa.Column:
    """A column; NOT NULL unless said otherwise (as most of PrestaShop's are)."""
    return sa.Column(name, type_, nullable=nullable, **kw)
