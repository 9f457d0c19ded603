"""The WMTS 1.0.0 capabilities document, read back with OWSLib and lxml (no database)."""

from __future__ import annotations

import pytest
from lxml import etree
from owslib.wmts import WebMapTileService

from tiles import grids, wmts

BASE = "http://127.0.0.1:8000"
NS = {
    "wmts": "http://www.opengis.net/wmts/1.0",
    "ows": "http://www.opengis.net/ows/1.1",
    "xlink": "http://www.w3.org/1999/xlink",
}
GUANGDONG = (109.6, 20.1, 117.3, 25.6)
MVT = "application/vnd.mapbox-vector-tile"

SERVICE = wmts.ServiceInfo(
    title="OneMap 广东",
    abstract="The one electronic map of Guangdong",
    keywords=["Guangdong", "WMTS"],
    provider_name="Guangdong Geographic Information Public Platform",
    provider_site="https://example.org/onemap",
    contact_email="gis@example.org",
    base_url=BASE + "/",
)
ADMIN = wmts.WmtsLayer(
    identifier="admin_county",
    title="County boundaries",
    abstract="County-level administrative units",
    wgs84_bbox=GUANGDONG,
    formats=["image/png", MVT],
    tms_ids=["WebMercatorQuad", "TiandituCGCS2000"],
    limits={"TiandituCGCS2000": grids.matrix_limits("TiandituCGCS2000", GUANGDONG, [1, 2, 3])},
)
RIVERS = wmts.WmtsLayer(
    identifier="rivers 2024",
    title="Rivers",
    abstract="",
    wgs84_bbox=GUANGDONG,
    formats=[MVT],
    tms_ids=["TiandituWebMercator"],
    info_formats=["application/json"],
)


@pytest.fixture(scope="module")
def document() -> bytes:
    return wmts.capabilities_xml(
        SERVICE, [ADMIN, RIVERS], ["WebMercatorQuad", "WorldCRS84Quad", "CGCS2000Quad"]
    )


@pytest.fixture(scope="module")
def owslib_service(document: bytes) -> WebMapTileService:
    return WebMapTileService(url=f"{BASE}/wmts", xml=document)


@pytest.fixture(scope="module")
def root(document: bytes) -> etree._Element:
    return etree.fromstring(document)


def test_owslib_reads_identification_and_provider(owslib_service: WebMapTileService) -> None:
    assert owslib_service.identification.title == "OneMap 广东"
    assert owslib_service.identification.type == "OGC WMTS"
    assert owslib_service.identification.version == "1.0.0"
    assert owslib_service.identification.keywords == ["Guangdong", "WMTS"]
    assert owslib_service.provider.name == "Guangdong Geographic Information Public Platform"
    assert owslib_service.provider.contact.email == "gis@example.org"
    assert owslib_service.serviceMetadataURL == f"{BASE}/wmts/1.0.0/WMTSCapabilities.xml"


def test_operations_have_kvp_and_restful_bindings(owslib_service: WebMapTileService) -> None:
    for name in ("GetCapabilities", "GetTile", "GetFeatureInfo"):
        methods = owslib_service.getOperationByName(name).methods
        encodings = {m["url"]: m["constraints"][0].values for m in methods}
        assert encodings[f"{BASE}/wmts?"] == ["KVP"]
        assert ["RESTful"] in encodings.values()


def test_owslib_reads_the_layers(owslib_service: WebMapTileService) -> None:
    admin = owslib_service["admin_county"]
    assert admin.title == "County boundaries"
    assert admin.boundingBoxWGS84 == GUANGDONG
    assert admin.formats == ["image/png", MVT]
    assert admin.infoformats == ["application/json", "text/html"]
    assert admin.styles == {"default": {"isDefault": True}}
    assert set(admin.tilematrixsetlinks) == {"WebMercatorQuad", "TiandituCGCS2000"}
    limits = admin.tilematrixsetlinks["TiandituCGCS2000"].tilematrixlimits
    assert sorted(limits) == ["1", "2", "3"]
    assert (limits["3"].mintilerow, limits["3"].maxtilerow) == (1, 1)
    assert (limits["3"].mintilecol, limits["3"].maxtilecol) == (6, 6)
    assert admin.tilematrixsetlinks["WebMercatorQuad"].tilematrixlimits == {}


def test_resource_url_templates(owslib_service: WebMapTileService) -> None:
    templates = {
        (r["resourceType"], r["format"]): r["template"]
        for r in owslib_service["admin_county"].resourceURLs
    }
    tile = f"{BASE}/wmts/1.0.0/admin_county/default/{{TileMatrixSet}}/{{TileMatrix}}"
    tile += "/{TileRow}/{TileCol}"
    assert templates == {
        ("tile", "image/png"): f"{tile}.png",
        ("tile", MVT): f"{tile}.pbf",
        ("FeatureInfo", "application/json"): f"{tile}/{{J}}/{{I}}.json",
        ("FeatureInfo", "text/html"): f"{tile}/{{J}}/{{I}}.html",
    }
    url = owslib_service.buildTileResource(
        layer="admin_county", tilematrixset="TiandituCGCS2000", tilematrix="2", row=0, column=3
    )
    assert url.startswith(f"{BASE}/wmts/1.0.0/admin_county/default/TiandituCGCS2000/2/0/3.")


def test_layer_identifiers_are_escaped_in_templates(owslib_service: WebMapTileService) -> None:
    (resource,) = [
        r for r in owslib_service["rivers 2024"].resourceURLs if r["resourceType"] == "tile"
    ]
    assert resource["template"].startswith(f"{BASE}/wmts/1.0.0/rivers%202024/default/")


def test_every_listed_or_linked_grid_is_described(owslib_service: WebMapTileService) -> None:
    assert set(owslib_service.tilematrixsets) == {
        "WebMercatorQuad",
        "WorldCRS84Quad",
        "CGCS2000Quad",
        "TiandituCGCS2000",
        "TiandituWebMercator",
    }


@pytest.mark.parametrize(
    ("tms_id", "crs", "top_left", "first_id"),
    [
        (
            "WebMercatorQuad",
            "urn:ogc:def:crs:EPSG::3857",
            "-20037508.342789244 20037508.342789244",
            "0",
        ),
        ("WorldCRS84Quad", "urn:ogc:def:crs:OGC:1.3:CRS84", "-180 90", "0"),
        ("CGCS2000Quad", "urn:ogc:def:crs:EPSG::4490", "90 -180", "0"),
        ("TiandituCGCS2000", "urn:ogc:def:crs:EPSG::4490", "90 -180", "1"),
        (
            "TiandituWebMercator",
            "urn:ogc:def:crs:EPSG::3857",
            "-20037508.342789244 20037508.342789244",
            "0",
        ),
    ],
)
def test_tile_matrix_sets_use_the_crs_axis_order(
    root: etree._Element, tms_id: str, crs: str, top_left: str, first_id: str
) -> None:
    (tms,) = root.xpath(
        f"wmts:Contents/wmts:TileMatrixSet[ows:Identifier='{tms_id}']", namespaces=NS
    )
    assert tms.findtext("ows:SupportedCRS", namespaces=NS) == crs
    matrices = tms.findall("wmts:TileMatrix", NS)
    assert len(matrices) == len(grids.level_range(tms_id))
    assert {m.findtext("wmts:TopLeftCorner", namespaces=NS) for m in matrices} == {top_left}
    assert matrices[0].findtext("ows:Identifier", namespaces=NS) == first_id


@pytest.mark.parametrize(
    ("tms_id", "level", "scale", "shape"),
    [
        ("WebMercatorQuad", "0", 559082264.0287178, (1, 1)),
        ("WorldCRS84Quad", "0", 279541132.0143589, (2, 1)),
        ("CGCS2000Quad", "0", 279541132.0143589, (2, 1)),
        ("TiandituCGCS2000", "1", 279541132.0143589, (2, 1)),
        ("TiandituCGCS2000", "18", 279541132.0143589 / 2**17, (262144, 131072)),
        ("TiandituWebMercator", "1", 559082264.0287178 / 2, (2, 2)),
    ],
)
def test_scale_denominators_and_matrix_sizes(
    owslib_service: WebMapTileService, tms_id: str, level: str, scale: float, shape: tuple[int, int]
) -> None:
    matrix = owslib_service.tilematrixsets[tms_id].tilematrix[level]
    assert matrix.scaledenominator == pytest.approx(scale, rel=1e-12)
    assert (matrix.matrixwidth, matrix.matrixheight) == shape
    assert (matrix.tilewidth, matrix.tileheight) == (256, 256)


def test_root_is_a_namespaced_wmts_1_0_0_document(document: bytes, root: etree._Element) -> None:
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert root.tag == "{http://www.opengis.net/wmts/1.0}Capabilities"
    assert root.get("version") == "1.0.0"
    assert root.nsmap[None] == NS["wmts"]
    assert root.nsmap["ows"] == NS["ows"]
    assert root.nsmap["xlink"] == NS["xlink"]
    assert root.nsmap["gml"] == "http://www.opengis.net/gml"
    namespaces = {etree.QName(element).namespace for element in root.iter()}
    assert namespaces == {NS["wmts"], NS["ows"]}


def test_children_follow_the_schema_order(root: etree._Element) -> None:
    def local_names(element: etree._Element) -> list[str]:
        return [etree.QName(child).localname for child in element]

    assert local_names(root) == [
        "ServiceIdentification",
        "ServiceProvider",
        "OperationsMetadata",
        "Contents",
        "ServiceMetadataURL",
    ]
    layer = root.find("wmts:Contents/wmts:Layer", NS)
    assert local_names(layer) == [
        "Title", "Abstract", "WGS84BoundingBox", "Identifier", "Style", "Format", "Format",
        "InfoFormat", "InfoFormat", "TileMatrixSetLink", "TileMatrixSetLink",
        "ResourceURL", "ResourceURL", "ResourceURL", "ResourceURL",
    ]  # fmt: skip
    matrix = root.find("wmts:Contents/wmts:TileMatrixSet/wmts:TileMatrix", NS)
    assert local_names(matrix) == [
        "Identifier", "ScaleDenominator", "TopLeftCorner", "TileWidth", "TileHeight",
        "MatrixWidth", "MatrixHeight",
    ]  # fmt: skip
    contents = root.find("wmts:Contents", NS)
    assert local_names(contents) == ["Layer"] * 2 + ["TileMatrixSet"] * 5


def test_well_known_scale_set_only_where_the_grid_declares_one(root: etree._Element) -> None:
    wkss = {
        tms.findtext("ows:Identifier", namespaces=NS): tms.findtext(
            "wmts:WellKnownScaleSet", namespaces=NS
        )
        for tms in root.iterfind("wmts:Contents/wmts:TileMatrixSet", NS)
    }
    assert wkss["WebMercatorQuad"] == "urn:ogc:def:wkss:OGC:1.0:GoogleMapsCompatible"
    assert wkss["CGCS2000Quad"] is None


def test_layer_descriptions_are_checked_when_built() -> None:
    with pytest.raises(ValueError, match="unsupported tile format"):
        wmts.WmtsLayer("x", "x", "", GUANGDONG, ["image/gif"], ["WebMercatorQuad"])
    with pytest.raises(ValueError, match="unsupported tile matrix set"):
        wmts.WmtsLayer("x", "x", "", GUANGDONG, ["image/png"], ["EPSG:4326"])
    with pytest.raises(ValueError, match="unsupported limits tile matrix set"):
        wmts.WmtsLayer(
            "x", "x", "", GUANGDONG, ["image/png"], ["WebMercatorQuad"], limits={"CGCS2000Quad": []}
        )


def test_ogc_urn() -> None:
    assert (
        wmts.ogc_urn("http://www.opengis.net/def/crs/EPSG/0/4490") == "urn:ogc:def:crs:EPSG::4490"
    )
    assert wmts.ogc_urn("http://www.opengis.net/def/crs/OGC/1.3/CRS84") == (
        "urn:ogc:def:crs:OGC:1.3:CRS84"
    )
    assert wmts.ogc_urn("urn:ogc:def:crs:EPSG::3857") == "urn:ogc:def:crs:EPSG::3857"


def test_exception_report() -> None:
    report = etree.fromstring(
        wmts.exception_report_xml("TileOutOfRange", "TileRow", "TileRow 9 is outside 0..7")
    )
    assert report.tag == "{http://www.opengis.net/ows/1.1}ExceptionReport"
    assert report.get("version") == "1.0.0"
    (exception,) = report.findall("ows:Exception", NS)
    assert exception.get("exceptionCode") == "TileOutOfRange"
    assert exception.get("locator") == "TileRow"
    assert exception.findtext("ows:ExceptionText", namespaces=NS) == "TileRow 9 is outside 0..7"
    no_locator = etree.fromstring(wmts.exception_report_xml("NoApplicableCode", "", "boom"))
    assert no_locator.find("ows:Exception", NS).get("locator") is None
