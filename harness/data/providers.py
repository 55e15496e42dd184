"""Faker providers for Q-commerce, and pools built from them once for fast sampling.

`provider_class()` returns a Faker provider (Faker is imported only then) with
`indian_mobile`, `pincode`, `upi_id`, `safe_email`, `sku`, `dark_store`, `delivery_address`
and `delivery_instructions`. Use it per row with `fake.add_provider(provider_class())`.

Calling Faker per row is slow, so the generator calls it a few thousand times up front
(`Pools.build`) and then samples from those pools with a plain `random.Random`. Values are
combined from independent pools (first x last name, flat x building x street x locality,
brand x item x pack size), so a million orders still look varied.

Every value is safe by construction: emails on example.com/.org/.net, UPI ids on a reserved
handle, pincodes with a first digit 1-9, mobiles +91 then 6-9.
"""

from __future__ import annotations

import itertools
import random
import unicodedata
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

# city -> (pincode prefix, localities). Prefixes are the real postal circles, so pincodes
# look right for the city; the last three digits are made up.
CITIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "Bengaluru": ("560", ("Koramangala", "HSR Layout", "Indiranagar", "Whitefield", "Jayanagar",
                          "JP Nagar", "Marathahalli", "Bellandur", "Hebbal", "Malleshwaram",
                          "Electronic City", "BTM Layout", "Sarjapur Road", "Yelahanka")),
    "Mumbai": ("400", ("Andheri West", "Bandra West", "Powai", "Goregaon East", "Malad West",
                       "Chembur", "Dadar", "Lower Parel", "Juhu", "Borivali", "Worli")),
    "New Delhi": ("110", ("Saket", "Dwarka", "Rohini", "Lajpat Nagar", "Karol Bagh",
                          "Vasant Kunj", "Janakpuri", "Mayur Vihar", "Hauz Khas", "Pitampura")),
    "Gurugram": ("122", ("DLF Phase 3", "Sohna Road", "Golf Course Road", "Sector 56",
                         "South City 1")),
    "Noida": ("201", ("Sector 18", "Sector 62", "Sector 137", "Sector 75")),
    "Hyderabad": ("500", ("Gachibowli", "Madhapur", "Kondapur", "Banjara Hills", "Kukatpally",
                          "Jubilee Hills", "Manikonda")),
    "Chennai": ("600", ("Adyar", "Velachery", "Anna Nagar", "T Nagar", "Perungudi",
                        "Nungambakkam")),
    "Pune": ("411", ("Koregaon Park", "Baner", "Hinjewadi", "Kothrud", "Viman Nagar",
                     "Wakad")),
    "Kolkata": ("700", ("Salt Lake", "New Town", "Ballygunge", "Park Street", "Behala")),
    "Ahmedabad": ("380", ("Satellite", "Bodakdev", "Navrangpura", "Prahlad Nagar")),
}

BUILDING_KINDS = ("Residency", "Apartments", "Heights", "Enclave", "Towers", "Greens",
                  "Gardens", "Court", "Nest", "Palms", "Meadows", "Villa")
STREET_KINDS = ("Main Road", "Cross", "Road", "Street", "Lane", "Marg", "Layout")
FLOOR_LETTERS = "ABCDEFGH"
DELIVERY_INSTRUCTIONS = (
    "Leave at the door", "Call on arrival", "Please ring the bell once",
    "Do not ring the bell, baby sleeping", "Hand over to the security guard",
    "Leave with the reception", "Take the service lift to the 4th floor",
    "Dog at home, please wait at the gate", "Back gate, next to the temple",
    "Opposite the park, blue gate", "Drop at the clubhouse", "Knock softly",
    "Gate 2 is closed after 10 pm, use gate 1", "Cash ready, please bring change",
    "Call the other number if unreachable", "Deliver to the 2nd floor, left side",
    "Leave with the neighbour in the next flat", "Ask for the delivery box at the lobby", "",
)

# slug -> (display name, brands, items). An item is (noun, packs, storage, perishable,
# min price ₹, max price ₹, tags); a pack is (label, grams).
_Item = tuple[str, tuple[tuple[str, int], ...], str, bool, int, int, str]
CATALOG: dict[str, tuple[str, tuple[str, ...], tuple[_Item, ...]]] = {
    "fruits-veg": ("Fruits & Vegetables", ("Fresho", "Farm Fresh", "Organic Tattva", "Kisan"), (
        ("Banana Robusta", (("6 pcs", 900), ("12 pcs", 1800)), "ambient", True, 35, 90, "vegan"),
        ("Tomato Hybrid", (("500 g", 500), ("1 kg", 1000)), "ambient", True, 20, 60, "vegan"),
        ("Onion", (("1 kg", 1000), ("2 kg", 2000)), "ambient", True, 30, 90, "vegan"),
        ("Potato", (("1 kg", 1000),), "ambient", True, 25, 60, "vegan"),
        ("Coriander Leaves", (("100 g", 100),), "chilled", True, 10, 30, "vegan"),
        ("Alphonso Mango", (("2 pcs", 500), ("6 pcs", 1400)), "ambient", True, 120, 650, "vegan"),
        ("Green Capsicum", (("250 g", 250),), "chilled", True, 20, 50, "vegan"),
        ("Pomegranate", (("2 pcs", 500),), "ambient", True, 90, 220, "vegan"),
    )),
    "dairy": ("Dairy, Bread & Eggs", ("Amul", "Mother Dairy", "Nandini", "Heritage",
                                      "Milky Mist", "Akshayakalpa"), (
        ("Toned Milk", (("500 ml", 515), ("1 l", 1030)), "chilled", True, 26, 70, "vegetarian"),
        ("Curd", (("400 g", 400), ("1 kg", 1000)), "chilled", True, 30, 110, "vegetarian"),
        ("Paneer", (("200 g", 200),), "chilled", True, 80, 120, "vegetarian"),
        ("Salted Butter", (("100 g", 100), ("500 g", 500)), "chilled", True, 55, 290, "vegetarian"),
        ("Cow Ghee", (("500 ml", 460),), "ambient", False, 300, 420, "vegetarian"),
        ("Brown Bread", (("400 g", 400),), "ambient", True, 40, 60, "vegetarian"),
        ("Farm Eggs", (("6 pcs", 360), ("12 pcs", 720)), "chilled", True, 50, 110, ""),
    )),
    "snacks": ("Snacks & Munchies", ("Lay's", "Haldiram's", "Bingo", "Kurkure", "Britannia",
                                     "Parle", "Cadbury", "Too Yumm"), (
        ("Classic Salted Chips", (("52 g", 52), ("90 g", 90)), "ambient", False, 20, 50, "vegetarian"),  # noqa: E501
        ("Aloo Bhujia", (("200 g", 200), ("400 g", 400)), "ambient", False, 50, 110, "vegetarian"),  # noqa: E501
        ("Masala Peanuts", (("150 g", 150),), "ambient", False, 35, 60, "vegan"),
        ("Cream Biscuits", (("100 g", 100),), "ambient", False, 20, 40, "vegetarian"),
        ("Dark Chocolate", (("60 g", 60), ("150 g", 150)), "cool", False, 80, 220, "vegetarian"),
        ("Roasted Almonds", (("200 g", 200),), "ambient", False, 250, 400, "vegan"),
    )),
    "beverages": ("Cold Drinks & Juices", ("Coca-Cola", "Thums Up", "Sprite", "Paper Boat",
                                           "Real", "Bisleri", "Red Bull", "Tropicana"), (
        ("Soft Drink", (("750 ml", 750), ("2 l", 2000)), "cool", False, 40, 99, "vegan"),
        ("Mixed Fruit Juice", (("1 l", 1000),), "ambient", False, 99, 140, "vegan"),
        ("Mineral Water", (("1 l", 1000), ("5 l", 5000)), "ambient", False, 20, 90, "vegan"),
        ("Energy Drink", (("250 ml", 250),), "cool", False, 110, 125, "vegan"),
        ("Aam Panna", (("200 ml", 200),), "ambient", False, 30, 40, "vegan"),
        ("Party Cups", (("25 pcs", 150),), "ambient", False, 45, 70, ""),
    )),
    "frozen": ("Ice & Frozen", ("Kwality Walls", "McCain", "Safal", "Amul", "Baskin Robbins",
                                "ITC Master Chef"), (
        ("Ice Cubes", (("1 kg", 1000), ("2 kg", 2000)), "frozen", True, 45, 90, "vegan"),
        ("French Fries", (("420 g", 420),), "frozen", True, 110, 150, "vegan"),
        ("Green Peas", (("500 g", 500),), "frozen", True, 60, 90, "vegan"),
        ("Vanilla Ice Cream Tub", (("700 ml", 700),), "frozen", True, 180, 350, "vegetarian"),
        ("Chicken Nuggets", (("400 g", 400),), "frozen", True, 190, 290, ""),
    )),
    "personal-care": ("Personal Care", ("Dove", "Colgate", "Himalaya", "Nivea", "Dettol",
                                        "Head & Shoulders", "Gillette"), (
        ("Beauty Bar", (("3 x 100 g", 300),), "ambient", False, 150, 200, ""),
        ("Toothpaste", (("150 g", 150), ("200 g", 200)), "ambient", False, 90, 140, ""),
        ("Face Wash", (("100 ml", 100),), "ambient", False, 150, 260, ""),
        ("Shampoo", (("180 ml", 180), ("340 ml", 340)), "ambient", False, 150, 380, ""),
        ("Hand Wash Refill", (("750 ml", 750),), "ambient", False, 99, 160, ""),
    )),
    "baby": ("Baby Care", ("Pampers", "Huggies", "Himalaya", "Mamaearth", "Nestle"), (
        ("Diaper Pants M", (("56 pcs", 1600),), "ambient", False, 650, 999, ""),
        ("Baby Wipes", (("72 pcs", 400),), "ambient", False, 140, 220, ""),
        ("Baby Lotion", (("200 ml", 200),), "ambient", False, 180, 300, ""),
        ("Baby Cereal", (("300 g", 300),), "ambient", False, 230, 290, ""),
    )),
    "pet": ("Pet Care", ("Pedigree", "Whiskas", "Drools", "Royal Canin", "Meat Up"), (
        ("Adult Dog Food", (("1.2 kg", 1200), ("3 kg", 3000)), "ambient", False, 200, 800, ""),
        ("Cat Food Ocean Fish", (("480 g", 480),), "ambient", False, 180, 240, ""),
        ("Chew Bones", (("4 pcs", 120),), "ambient", False, 100, 160, ""),
    )),
    "otc": ("Pharmacy & OTC", ("Dolo", "Vicks", "Band-Aid", "Electral", "Volini", "Crocin"), (
        ("Paracetamol 650 Tablets", (("15 tablets", 15),), "ambient", False, 30, 40, ""),
        ("Vapour Rub", (("25 ml", 25), ("50 ml", 50)), "ambient", False, 90, 170, ""),
        ("Washproof Strips", (("20 pcs", 20),), "ambient", False, 40, 60, ""),
        ("ORS Sachet", (("21.8 g", 22),), "ambient", False, 20, 25, ""),
        ("Pain Relief Spray", (("55 g", 55),), "ambient", False, 160, 220, ""),
    )),
    "paan-corner": ("Paan Corner", ("Pan Rasna", "Rajnigandha", "Cricket", "Ship"), (
        ("Mouth Freshener", (("40 g", 40),), "ambient", False, 25, 60, ""),
        ("Matchbox", (("10 pcs", 10),), "ambient", False, 10, 20, ""),
        ("Pocket Lighter", (("1 pc", 20),), "ambient", False, 30, 50, ""),
    )),
}

SYNTHETIC_UPI_HANDLES = ("example", "sandbox")
SAFE_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits only (for email and UPI local parts)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


class QCommerceMethods:
    """The Q-commerce provider methods; `provider_class()` mixes them into Faker's BaseProvider.

    They use only `self.generator` (the Faker instance: its seeded `random` and its locale's
    names), so the same seed gives the same values.
    """

    generator: Any

    @property
    def _rng(self) -> random.Random:
        rng: random.Random = self.generator.random
        return rng

    def indian_mobile(self) -> str:
        """A valid Indian mobile number: +91, then 6-9, then nine digits."""
        rng = self._rng
        return f"+91{rng.choice('6789')}{rng.randrange(10**9):09d}"

    def pincode(self, city: str | None = None) -> str:
        """An Indian pincode (six digits, first 1-9), in `city`'s postal circle if given."""
        rng = self._rng
        prefix = CITIES[city][0] if city in CITIES else str(rng.randint(110, 855))
        return f"{prefix}{rng.randrange(1000):03d}"

    def safe_email(self, name: str | None = None) -> str:
        """An email on a reserved domain (example.com/.org/.net): it reaches nobody."""
        rng = self._rng
        first, _, last = (name or self.generator.name()).partition(" ")
        local = ".".join(p for p in (ascii_slug(first), ascii_slug(last)) if p) or "shopper"
        return f"{local}{rng.randrange(1000)}@{rng.choice(SAFE_EMAIL_DOMAINS)}"

    def upi_id(self, name: str | None = None) -> str:
        """A UPI id (name@handle) on a handle no payment provider issues."""
        rng = self._rng
        first, _, last = (name or self.generator.name()).partition(" ")
        local = ascii_slug(first) + ascii_slug(last)[:1] + str(rng.randrange(100))
        return f"{local}@{rng.choice(SYNTHETIC_UPI_HANDLES)}"

    def sku(self, category: str | None = None) -> dict[str, Any]:
        """A SKU of `category`: name (brand + item), pack, weight, storage, prices in paise."""
        rng = self._rng
        slug = category if category in CATALOG else rng.choice(list(CATALOG))
        _, brands, items = CATALOG[slug]
        noun, packs, storage, perishable, low, high, tags = rng.choice(items)
        unit, grams = rng.choice(packs)
        price = rng.randint(low, high)
        mrp = price + rng.choice((0, 0, 1, 2, 5, 10, round(price * 0.15)))
        return {"name": f"{rng.choice(brands)} {noun}", "category": slug, "unit": unit,
                "net_weight_g": grams, "storage": storage, "perishable": perishable,
                "price_paise": price * 100, "mrp_paise": mrp * 100, "tags": tags}

    def dark_store(self, city: str | None = None) -> dict[str, str]:
        """A dark store: name after its locality, city, and a code like KOR-02."""
        rng = self._rng
        city = city if city in CITIES else rng.choice(list(CITIES))
        locality = rng.choice(CITIES[city][1])
        code = "".join(ch for ch in locality.upper() if ch.isalpha())[:3]
        return {"code": f"{code}-{rng.randint(2, 99):02d}", "name": f"{locality} Dark Store",
                "city": city, "locality": locality}

    def delivery_instructions(self) -> str:
        """A short note for the rider (never a phone number: free text is scrubbed anyway)."""
        return str(self._rng.choice(DELIVERY_INSTRUCTIONS))

    def delivery_address(self, city: str | None = None) -> str:
        """A delivery address: flat, building, street, locality, city, pincode and a note."""
        rng = self._rng
        city = city if city in CITIES else rng.choice(list(CITIES))
        locality = rng.choice(CITIES[city][1])
        building = f"{self.generator.last_name()} {rng.choice(BUILDING_KINDS)}"
        street = f"{ordinal(rng.randint(1, 24))} {rng.choice(STREET_KINDS)}"
        flat = f"Flat {rng.randint(1, 19)}{rng.choice(FLOOR_LETTERS)}"
        note = self.delivery_instructions()
        address = f"{flat}, {building}, {street}, {locality}, {city} {self.pincode(city)}"
        return f"{address}. {note}" if note else address


def provider_class() -> type:
    """The Faker provider class (imports Faker): `fake.add_provider(provider_class())`."""
    from faker.providers import BaseProvider

    return type("QCommerceProvider", (QCommerceMethods, BaseProvider), {})


def make_faker(locale: str, seed: int) -> Any:
    """A seeded Faker for `locale` with the Q-commerce provider added."""
    from faker import Faker

    fake = Faker(locale)
    fake.seed_instance(seed)
    fake.add_provider(provider_class())
    return fake


@dataclass(frozen=True)
class Pools:
    """Values drawn from Faker once; samplers combine them with a plain `random.Random`."""

    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    buildings: tuple[str, ...]
    skus: tuple[dict[str, Any], ...]
    stores: tuple[dict[str, str], ...]
    #: outside India: street lines and "City Postcode" places in the locale's own layout
    streets: tuple[str, ...] = ()
    places: tuple[str, ...] = ()

    @classmethod
    def build(cls, locale: str, seed: int, *, names: int = 1500, buildings: int = 800,
              skus: int = 0, stores: int = 0) -> Pools:
        """Call Faker `names` + `buildings` + `skus` + `stores` times; same seed, same pools."""
        fake = make_faker(locale, seed)
        first = sorted({fake.first_name() for _ in range(names)})
        last = sorted({fake.last_name() for _ in range(names)})
        building_names = sorted({f"{fake.last_name()} {fake.random.choice(BUILDING_KINDS)}"
                                 for _ in range(buildings)})
        return cls(tuple(first), tuple(last), tuple(building_names),
                   tuple(fake.sku() for _ in range(skus)),
                   tuple(fake.dark_store() for _ in range(stores)))


MASKING_POOL_SEED = 7_700_001


def masking_pools(locale: str = "en_IN") -> Pools:
    """The pools consistent fakes pick from (fixed: the key, not the pool, makes it secret).

    Outside India, fake addresses come from Faker's locale (`en_US`: "742 Evergreen Terrace,
    Springfield 49007"), not the Q-commerce provider's Indian layout."""
    import dataclasses

    pools = Pools.build(locale, MASKING_POOL_SEED, names=2500, buildings=1200)
    if locale == "en_IN":
        return pools
    fake = make_faker(locale, MASKING_POOL_SEED)
    try:
        streets = tuple(sorted({fake.street_address() for _ in range(1500)}))
        places = tuple(sorted({f"{fake.city()} {fake.postcode()}" for _ in range(1500)}))
    except AttributeError:  # a locale without addresses: the Indian layout
        return pools
    return dataclasses.replace(pools, streets=streets, places=places)


class Sampler:
    """Fast Q-commerce values from `Pools`: the same fields as the provider, without Faker.

    Hot paths index lists with `int(random() * n)` (one C call) instead of `choice`/`randint`.
    """

    def __init__(self, pools: Pools, rng: random.Random) -> None:
        self.pools = pools
        self.rng = rng
        self._rand = rng.random
        self._first, self._last = pools.first_names, pools.last_names
        self._slug = {n: ascii_slug(n) for n in (*pools.first_names, *pools.last_names)}
        self._localities = {city: facts[1] for city, facts in CITIES.items()}
        self._flats = [f"Flat {n}{letter}" for n in range(1, 20) for letter in FLOOR_LETTERS]
        self._streets = [f"{ordinal(n)} {kind}" for n in range(1, 25) for kind in STREET_KINDS]
        self._notes = [f". {note}" if note else "" for note in DELIVERY_INSTRUCTIONS]
        # "Locality, City 560": a place and its pincode's postal circle
        self._places = [f"{locality}, {city} {prefix}" for city, (prefix, localities)
                        in CITIES.items() for locality in localities]
        # pieces with their separators, so a column is one str.join per row
        self._flats_c = [f + ", " for f in self._flats]
        self._buildings_c = [b + ", " for b in pools.buildings]
        self._streets_c = [s + ", " for s in self._streets]
        self._pin_suffixes = [f"{i:03d}" for i in range(1000)]
        self._email_first = [(ascii_slug(n) or "x") + "." for n in pools.first_names]
        self._email_last = [ascii_slug(n) or "x" for n in pools.last_names]
        self._upi_first = [ascii_slug(n) or "x" for n in pools.first_names]
        self._upi_last = [(ascii_slug(n) or "x")[:1] for n in pools.last_names]
        self._email_domains = [f"@{d}" for d in SAFE_EMAIL_DOMAINS]
        self._upi_handles = [f"@{h}" for h in SYNTHETIC_UPI_HANDLES]

    def delivery_address(self, city: str, pincode: str, locality: str | None = None) -> str:
        """Flat, building, street, locality, city, pincode and a rider note."""
        rand = self._rand
        if not locality:
            localities = self._localities.get(city, ("Central",))
            locality = localities[int(rand() * len(localities))]
        buildings, flats, streets, notes = (self.pools.buildings, self._flats, self._streets,
                                            self._notes)
        return (f"{flats[int(rand() * len(flats))]}, "
                f"{buildings[int(rand() * len(buildings))]}, "
                f"{streets[int(rand() * len(streets))]}, {locality}, {city} {pincode}"
                f"{notes[int(rand() * len(notes))]}")

    def _indexes(self, n: int, below: int) -> Iterator[int]:
        """`n` seeded random integers in [0, below), made in C (randbytes + array + map).

        Drawn from 32 bits (64 above 65536), so the modulo bias stays below 2^-16.
        """
        width, code = (4, "I") if below <= 1 << 16 else (8, "Q")
        return map(below.__rmod__, array(code, self.rng.randbytes(width * n)))

    def _picks(self, pool: Sequence[str], n: int) -> list[str]:
        """`n` values drawn from `pool`."""
        return list(map(pool.__getitem__, self._indexes(n, len(pool))))

    def people(self, n: int, first_id: int) -> dict[str, list[str]]:
        """`n` customers column by column: name, email, mobile, UPI id (unique per id).

        Column-wise, every step runs in C (`map`, `str.join`, `randbytes`): several times
        faster than building one record at a time.
        """
        first_index = list(self._indexes(n, len(self._first)))
        last_index = list(self._indexes(n, len(self._last)))
        firsts = list(map(self._first.__getitem__, first_index))
        lasts = list(map(self._last.__getitem__, last_index))
        ids = list(map(str, range(first_id, first_id + n)))
        spaces = itertools.repeat(" ", n)
        return {
            "name": list(map("".join, zip(firsts, spaces, lasts, strict=True))),
            "email": list(map("".join, zip(map(self._email_first.__getitem__, first_index),
                                           map(self._email_last.__getitem__, last_index), ids,
                                           _cycle_from(self._email_domains, first_id),
                                           strict=False))),  # the domains cycle endlessly
            "mobile": list(map("+91{}".format, map((6_000_000_000).__add__, self._indexes(
                n, 4_000_000_000)))),
            "upi": list(map("".join, zip(map(self._upi_first.__getitem__, first_index),
                                         map(self._upi_last.__getitem__, last_index), ids,
                                         _cycle_from(self._upi_handles, first_id),
                                         strict=False))),
        }

    def addresses(self, n: int) -> list[str]:
        """`n` delivery addresses (any city) with rider notes, built column-wise."""
        return list(map("".join, zip(self._picks(self._flats_c, n),
                                     self._picks(self._buildings_c, n),
                                     self._picks(self._streets_c, n), self._picks(self._places, n),
                                     self._picks(self._pin_suffixes, n),
                                     self._picks(self._notes, n), strict=True)))


def _cycle_from(values: Sequence[str], index: int) -> Iterator[str]:
    """values[index % len], values[(index + 1) % len], ... (endless)."""
    return itertools.islice(itertools.cycle(values), index % len(values), None)
