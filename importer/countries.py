"""Country names and codes as people type them, to tell the United States from elsewhere; no I/O.

Names are compared by `country_key`: accents, case, spaces and punctuation dropped, so
"États-Unis", "Etats Unis" and "ETATS-UNIS" are one key, and "U.S.A." is "usa". The US
territories that lead lists treat as countries (Puerto Rico, Guam, ...) count as the US:
their addresses are sendable (see `importer.usps`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# The United States in the spellings and languages seen in exports and address tails.
_US_NAMES = """
US; USA; U.S.; U.S.A.; U.S.A; United States; United States of America; the United States;
America; Amerika; United States (US); USA (United States); Estados Unidos;
Estados Unidos de América; EE.UU.; EEUU; EE UU; E.U.A.; EUA; États-Unis;
États-Unis d'Amérique; Etats-Unis; Vereinigte Staaten; Vereinigte Staaten von Amerika;
Stati Uniti; Stati Uniti d'America; Verenigde Staten; Stany Zjednoczone;
Förenta staterna; USA (Vereinigte Staaten); アメリカ合衆国; 美国; 미국; Соединённые Штаты; США;
Puerto Rico; PRI; Guam; GUM; American Samoa; ASM; Northern Mariana Islands; MNP;
U.S. Virgin Islands; US Virgin Islands; United States Virgin Islands; Virgin Islands (U.S.); VIR;
United States Minor Outlying Islands; UMI
"""

# Other countries: ISO 3166 alpha-2, alpha-3, the English short name, then other names
# (native names and the French, Spanish, German and Italian names of the likeliest ones);
# an indented line goes on with the names of the line above.
# An alpha-2 code that is also a US state code (CA, DE, IN, ...) is left out here: in an
# address or a country cell those two letters are read as the state.
_OTHER_COUNTRIES = """
AF AFG Afghanistan
AX ALA Åland Islands
AL- ALB Albania; Shqipëri
DZ DZA Algeria; Algérie; Argelia
AD AND Andorra
AO AGO Angola
AI AIA Anguilla
AQ ATA Antarctica
AG ATG Antigua and Barbuda
-- ARG Argentina
AM ARM Armenia
AW ABW Aruba
AU AUS Australia; Australie; Australien
AT AUT Austria; Österreich; Autriche
AZ- AZE Azerbaijan
BS BHS Bahamas; The Bahamas
BH BHR Bahrain
BD BGD Bangladesh
BB BRB Barbados
BY BLR Belarus
BE BEL Belgium; Belgique; België; Belgien; Bélgica; Belgio
BZ BLZ Belize
BJ BEN Benin
BM BMU Bermuda
BT BTN Bhutan
BO BOL Bolivia
BQ BES Bonaire, Sint Eustatius and Saba; Caribbean Netherlands
BA BIH Bosnia and Herzegovina
BW BWA Botswana
BV BVT Bouvet Island
BR BRA Brazil; Brasil; Brésil; Brasilien; Brasile
IO IOT British Indian Ocean Territory
VG VGB British Virgin Islands; Virgin Islands (British)
BN BRN Brunei; Brunei Darussalam
BG BGR Bulgaria; Bulgarie; Bulgarien
BF BFA Burkina Faso
BI BDI Burundi
CV CPV Cabo Verde; Cape Verde
KH KHM Cambodia
CM CMR Cameroon; Cameroun
-- CAN Canada; Kanada; Canadá
KY- CYM Cayman Islands
CF CAF Central African Republic
TD TCD Chad; Tchad
CL CHL Chile; Chili
CN CHN China; Chine; 中国; People's Republic of China; PRC
CX CXR Christmas Island
CC CCK Cocos (Keeling) Islands; Cocos Islands
-- COL Colombia; Colombie; Kolumbien
KM COM Comoros
CG COG Congo; Republic of the Congo
CD COD Democratic Republic of the Congo; DR Congo; DRC
CK COK Cook Islands
CR CRI Costa Rica
CI CIV Côte d'Ivoire; Ivory Coast
HR HRV Croatia; Hrvatska; Croatie; Kroatien
CU CUB Cuba
CW CUW Curaçao
CY CYP Cyprus; Chypre; Zypern
CZ CZE Czechia; Czech Republic; Česko; Česká republika; Tchéquie; Tschechien
DK DNK Denmark; Danmark; Danemark; Dänemark; Dinamarca
DJ DJI Djibouti
DM DMA Dominica
DO DOM Dominican Republic; República Dominicana; République dominicaine
EC ECU Ecuador; Équateur
EG EGY Egypt; Égypte; Ägypten; Egipto
SV SLV El Salvador
GQ GNQ Equatorial Guinea
ER ERI Eritrea
EE EST Estonia; Eesti
SZ SWZ Eswatini; Swaziland
ET ETH Ethiopia
FK FLK Falkland Islands
FO FRO Faroe Islands
FJ FJI Fiji
FM FSM Micronesia; Federated States of Micronesia
FI FIN Finland; Suomi; Finlande; Finnland; Finlandia
FR FRA France; Frankreich; Francia; França
GF GUF French Guiana; Guyane
PF PYF French Polynesia; Polynésie française
TF ATF French Southern Territories
-- GAB Gabon
GM GMB Gambia; The Gambia
GE GEO Republic of Georgia; Sakartvelo
DE- DEU Germany; Deutschland; Allemagne; Alemania; Germania; Duitsland; Niemcy
GH GHA Ghana
GI GIB Gibraltar
GR GRC Greece; Ελλάδα; Hellas; Grèce; Griechenland; Grecia; Grécia
GL GRL Greenland
GD GRD Grenada
GP GLP Guadeloupe
GT GTM Guatemala
GG GGY Guernsey
GN GIN Guinea
GW GNB Guinea-Bissau
GY GUY Guyana
HT HTI Haiti; Haïti
HM HMD Heard Island and McDonald Islands
VA- VAT Holy See; Vatican; Vatican City
HN HND Honduras
HK HKG Hong Kong; 香港
HU HUN Hungary; Magyarország; Hongrie; Ungarn
IS ISL Iceland; Ísland
-- IND India; Inde; Indien
-- IDN Indonesia; Indonésie; Indonesien
IR IRN Iran
IQ IRQ Iraq
IE IRL Ireland; Éire; Irlande; Irland; Irlanda; Republic of Ireland
IM IMN Isle of Man
IL- ISR Israel; Israël
IT ITA Italy; Italia; Italie; Italien
JM JAM Jamaica; Jamaïque
JP JPN Japan; 日本; Nippon; Japon; Japón; Giappone
JE JEY Jersey
JO JOR Jordan
KZ KAZ Kazakhstan
KE KEN Kenya
KI KIR Kiribati
KP PRK North Korea
KR KOR South Korea; Korea; Republic of Korea; 대한민국; 한국; Corée du Sud; Südkorea
XK XKX Kosovo
KW KWT Kuwait
KG KGZ Kyrgyzstan
LA- LAO Laos; Lao People's Democratic Republic
LV LVA Latvia; Latvija
LB LBN Lebanon; Liban; Líbano
LS LSO Lesotho
LR LBR Liberia
LY LBY Libya
LI LIE Liechtenstein
LT LTU Lithuania; Lietuva
LU LUX Luxembourg; Luxemburg; Luxemburgo
MO- MAC Macao; Macau
MG MDG Madagascar
MW MWI Malawi
MH MHL Marshall Islands
MY MYS Malaysia; Malaisie
MV MDV Maldives
ML MLI Mali
MT- MLT Malta; Malte
MQ MTQ Martinique
MR MRT Mauritania
MU MUS Mauritius; Maurice
YT MYT Mayotte
MX MEX Mexico; México; Mexique; Mexiko; Messico; Estados Unidos Mexicanos
MD- MDA Moldova
MC MCO Monaco
MN- MNG Mongolia
ME- MNE Montenegro; Crna Gora
MS- MSR Montserrat
MA- MAR Morocco; Maroc; Marruecos; Marokko
MZ MOZ Mozambique
MM MMR Myanmar; Burma
NA- NAM Namibia
NR NRU Nauru
NP NPL Nepal
NL NLD Netherlands; The Netherlands; Nederland; Holland; Pays-Bas; Niederlande;
  Países Bajos; Paesi Bassi
NC- NCL New Caledonia; Nouvelle-Calédonie
NZ NZL New Zealand; Aotearoa; Nouvelle-Zélande; Neuseeland; Nueva Zelanda
NI NIC Nicaragua
-- NER Niger
NG NGA Nigeria
NU NIU Niue
NF NFK Norfolk Island
MK MKD North Macedonia; Macedonia
NO NOR Norway; Norge; Noreg; Norvège; Norwegen; Noruega
OM OMN Oman
PK PAK Pakistan
PW PLW Palau
PS PSE Palestine; State of Palestine
PA- PAN Panama; Panamá
PG PNG Papua New Guinea
PY PRY Paraguay
PE PER Peru; Perú; Pérou
PH PHL Philippines; Pilipinas; Filipinas
PN PCN Pitcairn Islands
PL POL Poland; Polska; Pologne; Polen; Polonia
PT PRT Portugal
QA QAT Qatar
RE REU Réunion; Reunion
RO ROU Romania; România; Roumanie; Rumänien; Rumania
RU RUS Russia; Russian Federation; Россия; Russie; Russland; Rusia
RW RWA Rwanda
BL BLM Saint Barthélemy
SH SHN Saint Helena
KN KNA Saint Kitts and Nevis
LC LCA Saint Lucia
MF MAF Saint Martin
PM SPM Saint Pierre and Miquelon; Saint-Pierre-et-Miquelon
VC VCT Saint Vincent and the Grenadines
WS WSM Samoa
SM SMR San Marino
ST STP São Tomé and Príncipe
-- SAU Saudi Arabia; Arabie saoudite; Arabia Saudita
SN SEN Senegal; Sénégal
RS SRB Serbia; Srbija
SC- SYC Seychelles
SL SLE Sierra Leone
SG SGP Singapore; Singapour; Singapur; 新加坡
SX SXM Sint Maarten
SK SVK Slovakia; Slovensko
SI SVN Slovenia; Slovenija
SB SLB Solomon Islands
SO SOM Somalia
ZA ZAF South Africa; Afrique du Sud; Südafrika; Sudáfrica; Suid-Afrika
GS SGS South Georgia and the South Sandwich Islands
SS SSD South Sudan
ES ESP Spain; España; Espagne; Spanien; Spagna; Espanha
LK LKA Sri Lanka
SD- SDN Sudan
SR SUR Suriname
SJ SJM Svalbard and Jan Mayen
SE SWE Sweden; Sverige; Suède; Schweden; Suecia; Svezia
CH CHE Switzerland; Schweiz; Suisse; Svizzera; Suiza; Confoederatio Helvetica
SY SYR Syria
TW TWN Taiwan; 台灣; 台湾; Republic of China; Taïwan
TJ TJK Tajikistan
TZ- TZA Tanzania
TH THA Thailand; Thaïlande; Tailandia; ประเทศไทย
TL TLS Timor-Leste; East Timor
TG TGO Togo
TK TKL Tokelau
TO TON Tonga
TT TTO Trinidad and Tobago
TN- TUN Tunisia; Tunisie
TR TUR Türkiye; Turkey; Turquie; Türkei; Turquía
TM TKM Turkmenistan
TC TCA Turks and Caicos Islands
TV TUV Tuvalu
UG UGA Uganda
UA UKR Ukraine; Україна; Ucrania
AE- ARE United Arab Emirates; UAE; Emirats arabes unis
GB GBR United Kingdom; UK; U.K.; Great Britain; Britain; England; Scotland; Wales;
  Northern Ireland; Royaume-Uni; Reino Unido; Vereinigtes Königreich; Regno Unito
UY URY Uruguay
UZ UZB Uzbekistan
VU VUT Vanuatu
VE VEN Venezuela
VN VNM Vietnam; Viet Nam; Việt Nam
WF WLF Wallis and Futuna
EH ESH Western Sahara
YE YEM Yemen
ZM ZMB Zambia
ZW ZWE Zimbabwe
"""
# Georgia the country is listed by its codes and "Republic of Georgia" only: "Georgia" is
# the state.

_NOT_KEY = re.compile(r"[^\w]|_")


def country_key(text: str) -> str:
    """How names compare: accents, case, spaces and punctuation dropped ("U.S.A." -> "usa")."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_KEY.sub("", bare.casefold())


def _us_keys() -> frozenset[str]:
    names = [n.strip() for n in _US_NAMES.replace("\n", ";").split(";")]
    return frozenset(country_key(n) for n in names if n)


def _other_countries() -> dict[str, str]:
    """key -> the country's English name, for every code and name listed."""
    found: dict[str, str] = {}
    for line in _OTHER_COUNTRIES.strip().replace("\n  ", "; ").splitlines():
        alpha2, alpha3, names = line.split(" ", 2)
        spellings = [n.strip() for n in names.split(";")]
        english = spellings[0]
        codes = [code for code in (alpha2, alpha3) if not code.endswith("-")]
        for spelling in codes + spellings:
            found.setdefault(country_key(spelling), english)
    return found


US_KEYS = _us_keys()
OTHER_COUNTRIES = _other_countries()


# Names said with "the": the United Kingdom, the Netherlands, the Cayman Islands.
_ARTICLE_WORDS = (
    "United", "Republic", "Islands", "Netherlands", "Philippines", "Bahamas", "Gambia",
    "Maldives", "Seychelles", "Comoros", "Holy See", "Federated",
)  # fmt: skip


def in_sentence(name: str) -> str:
    """A country's name as a sentence uses it: "the United Kingdom", "Italy"."""
    return f"the {name}" if any(word in name for word in _ARTICLE_WORDS) else name


@lru_cache(maxsize=4096)
def country_of(text: str) -> str | None:
    """ "US" for the United States (or "" text), a country's English name for another
    country, None when the text names no country this module knows."""
    key = country_key(text)
    if not key or key in US_KEYS:
        return "US"
    return OTHER_COUNTRIES.get(key)
