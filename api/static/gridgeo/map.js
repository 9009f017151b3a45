/* gridgeo map pages: layers drawn from inline GeoJSON or from the service's vector tiles,
 * styled by class breaks given as data, with popups. No third-party code here; Leaflet and
 * Leaflet.VectorGrid are served from /static/vendor/ (scripts/vendor.sh).
 *
 * window.gridgeo.layers[name] holds each layer, window.gridgeo.drawn[name] counts the
 * features styled (drawn) so far, window.gridgeo.map is the map; the browser tests read them.
 *
 * Layers that can be clicked are drawn as SVG in panes, areas (grids, gaps, cells) under the
 * buildings' last visits under the building findings, whether they come inline or from tiles: the browser's own hit test then gives
 * a click to the building under the pointer, or else to the area, never to a layer that
 * merely lies on top (one canvas would swallow every click meant for the tiles under it).
 *
 * The page's panels (title, legend, filter form, layer control) are laid out by
 * gridgeo.layout: the top controls go below the title where they would meet it, the
 * bottom panels stand above the scale and attribution, and on a small screen
 * (gridgeo.small()) the legend, the filter form and the layer control start collapsed,
 * and opening one panel closes the other.
 *
 * Tile URLs come from the page as they are: they carry a short-lived tile key
 * (tile_key=), never the token. Tiles are fetched from this origin only, with the
 * page's cookie, and send no referrer.
 */
(function () {
  "use strict";
  var gg = (window.gridgeo = window.gridgeo || { layers: {}, drawn: {}, tilesLoaded: {} });

  // Leaflet.VectorGrid 1.3.0 calls L.DomEvent.fakeStop, which Leaflet 1.8 removed.
  if (window.L && L.DomEvent && !L.DomEvent.fakeStop) {
    L.DomEvent.fakeStop = function () { return true; };
  }

  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  var SMALL = "(max-width: 640px)";
  var PANES = { areas: 410, visits: 415, buildings: 420, labels: 450 };
  var renderers = {};

  gg.small = function () { return window.matchMedia(SMALL).matches; };

  function pane(name) { return PANES[name] ? "gridgeo-" + name : name; }

  function renderer(name) {
    if (!renderers[name]) { renderers[name] = L.svg({ pane: pane(name), padding: 0.5 }); }
    return renderers[name];
  }

  if (window.L && L.Map) {
    L.Map.addInitHook(function () {
      var map = this;
      gg.map = map;
      Object.keys(PANES).forEach(function (name) {
        var p = map.createPane(pane(name));
        p.style.zIndex = PANES[name];
        if (name === "labels") { p.style.pointerEvents = "none"; }
      });
      map.whenReady(function () { setTimeout(gg.layout, 0); });
      map.on("resize", gg.layout);
    });
    L.Control.Layers.addInitHook(function () {
      gg.layerControl = this;
      if (gg.small()) { this.options.collapsed = true; }
    });
  }

  function count(name) {
    gg.drawn[name] = (gg.drawn[name] || 0) + 1;
  }

  /* spec: {base: {...leaflet path options}, field: "coverage_score",
   *        classes: [[upper bound (exclusive) or null, colour], ...], missing: colour,
   *        categorical: bool (classes are [value, colour]), outline: bool} */
  gg.style = function (spec, props) {
    var style = Object.assign({}, spec.base || {});
    if (spec.field) {
      var value = props ? props[spec.field] : undefined;
      var colour = spec.missing || style.fillColor;
      if (value !== undefined && value !== null && value !== "") {
        for (var i = 0; i < spec.classes.length; i++) {
          var c = spec.classes[i];
          var hit = spec.categorical ? String(value) === String(c[0]) : c[0] === null || value < c[0];
          if (hit) { colour = c[1]; break; }
        }
      }
      style.fillColor = colour;
      if (spec.outline) { style.color = colour; }
    }
    return style;
  };

  /* A popup's heading: the feature's name (spec.titleField) with its code small beside it,
   * under the layer's name; the layer's name alone when the feature has no name. */
  function popupHead(props, title, titleField) {
    var name = titleField ? props[titleField] : null;
    var layer = title ? escapeHtml(title) : "";
    if (name === undefined || name === null || name === "") {
      return layer ? "<div class=\"gridgeo-popup-title\">" + layer + "</div>" : "";
    }
    var code = props.code && props.code !== name ? " <small>" + escapeHtml(props.code) + "</small>" : "";
    return "<div class=\"gridgeo-popup-title\">" + escapeHtml(name) + code + "</div>" +
      (layer ? "<div class=\"gridgeo-popup-layer\">" + layer + "</div>" : "");
  }

  /* The first of "a|b|..." that the feature has. */
  function value(props, property) {
    var names = property.split("|");
    for (var i = 0; i < names.length; i++) {
      var v = props[names[i]];
      if (v !== undefined && v !== null && v !== "") { return v; }
    }
    return undefined;
  }

  /* fields: [[property, label, options], ...]; property "a|b" is a, else b; options
   * (optional): values (property value → the words shown), text (shown whatever the
   * feature), small (a reference, in small type), title (the feature's title: the first
   * such property that has a value), unit (after the value, e.g. " %"). */
  function cell(props, f) {
    var o = f[2] || {};
    var v = o.text !== undefined ? o.text : value(props, f[0]);
    if (v === undefined || v === null || v === "") { return ""; }
    if (o.values && o.values[String(v)] !== undefined) { v = o.values[String(v)]; }
    return o.unit ? String(v) + o.unit : v;
  }

  gg.popup = function (props, fields, title, titleField) {
    var rows = fields
      .map(function (f) {
        var v = cell(props, f);
        if (v === "" || (f[2] || {}).title) { return ""; }
        var small = (f[2] || {}).small ? " class=\"gridgeo-ref\"" : "";
        return "<tr" + small + "><th>" + escapeHtml(f[1]) + "</th><td>" + escapeHtml(v) + "</td></tr>";
      })
      .join("");
    var named = fields.filter(function (f) { return (f[2] || {}).title && cell(props, f) !== ""; });
    if (named.length) { title = named.map(function (f) { return cell(props, f); }).join(" · "); }
    return popupHead(props, title, titleField) + "<table class=\"gridgeo-popup\">" + rows + "</table>";
  };

  /* Popups wide enough for a Chinese heading and a long value, scrolling when tall. */
  gg.POPUP = { maxWidth: 420, minWidth: 220, maxHeight: 320, className: "gridgeo-popup-box" };

  /* spec.cluster: {until: zoom}: points as circles, clustered (Leaflet.markercluster) below
   * that zoom. */
  gg.geojson = function (name, data, spec) {
    var where = spec.pane || "areas";
    var layer = L.geoJSON(data, {
      pane: pane(where),
      renderer: renderer(where),
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, gg.style(spec, feature.properties));
      },
      style: function (feature) {
        count(name);
        return gg.style(spec, feature.properties);
      },
      onEachFeature: function (feature, featureLayer) {
        if (spec.popup) {
          featureLayer.bindPopup(
            gg.popup(feature.properties, spec.popup, spec.title, spec.titleField), gg.POPUP
          );
        }
      },
    });
    if (spec.cluster && L.markerClusterGroup) {
      var group = L.markerClusterGroup({
        disableClusteringAtZoom: spec.cluster.until || 17,
        showCoverageOnHover: false,
        chunkedLoading: true,
      });
      group.addLayer(layer);
      layer = group;
    }
    gg.layers[name] = layer;
    return layer;
  };

  /* specs: {mvt layer name: style spec}; options: minZoom, interactive, canvas, popup,
   * pane (areas, visits or buildings; layers without popups stay in Leaflet's tile pane) */
  gg.tiles = function (name, url, specs, options) {
    var styles = {};
    Object.keys(specs).forEach(function (layerName) {
      styles[layerName] = function (props) {
        count(name);
        var style = gg.style(specs[layerName], props);
        // VectorGrid leaves polygons unfilled unless told: fill them as L.geoJSON does
        if (style.fill === undefined) { style.fill = true; }
        return style;
      };
    });
    var layer = L.vectorGrid.protobuf(url, {
      vectorTileLayerStyles: styles,
      rendererFactory: options.canvas ? L.canvas.tile : L.svg.tile,
      interactive: !!options.popup,
      minZoom: options.minZoom || 0,
      maxNativeZoom: options.maxNativeZoom || 22,
      maxZoom: 22,
      attribution: options.attribution || "",
      fetchOptions: { credentials: "same-origin", referrerPolicy: "no-referrer" },
      pane: options.popup ? pane(options.pane || "areas") : "tilePane",
    });
    if (options.popup) {
      layer.on("click", function (e) {
        var props = e.layer.properties || {};
        L.popup(gg.POPUP)
          .setLatLng(e.latlng)
          .setContent(gg.popup(props, options.popup, options.title, options.titleField))
          .openOn(layer._map);
      });
    }
    layer.on("load", function () { gg.tilesLoaded[name] = (gg.tilesLoaded[name] || 0) + 1; });
    gg.layers[name] = layer;
    return layer;
  };

  /* A raster basemap of one or more image tile layers stacked (a map and its labels),
   * served by this origin (/basemaps/...); options: attribution, maxNativeZoom. */
  gg.raster = function (name, urls, options) {
    var group = L.layerGroup(
      urls.map(function (url, i) {
        var layer = L.tileLayer(url, {
          attribution: i === 0 ? options.attribution || "" : "",
          maxNativeZoom: options.maxNativeZoom || 18,
          maxZoom: 22,
          referrerPolicy: "no-referrer",
        });
        layer.on("load", function () { gg.tilesLoaded[name] = (gg.tilesLoaded[name] || 0) + 1; });
        return layer;
      })
    );
    gg.layers[name] = group;
    return group;
  };

  /* Name labels: [{lat, lng, text, kind}, ...]; kind "community" below options.gridZoom,
   * "grid" from it on. A label that would touch one already placed is hidden, so the
   * labels never overlap whatever the zoom; communities are placed first. */
  gg.labels = function (name, points, options) {
    var group = L.layerGroup();
    points.forEach(function (p) {
      var icon = L.divIcon({
        className: "gridgeo-label gridgeo-label-" + p.kind,
        html: "<span>" + escapeHtml(p.text) + "</span>",
        iconSize: null,
      });
      var marker = L.marker([p.lat, p.lng], { icon: icon, interactive: false, keyboard: false,
                                                pane: pane("labels") });
      marker.kind = p.kind;
      group.addLayer(marker);
    });
    function place() { gg.declutter(group, options.gridZoom); }
    group.on("add", function () {
      group._map.on("zoomend moveend", place);
      setTimeout(place, 0);
    });
    group.on("remove", function (e) { e.target._map && e.target._map.off("zoomend moveend", place); });
    gg.layers[name] = group;
    return group;
  };

  function overlaps(a, b) {
    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  }

  gg.declutter = function (group, gridZoom) {
    var map = group._map;
    if (!map) { return; }
    var kind = map.getZoom() >= gridZoom ? "grid" : "community";
    var view = map.getContainer().getBoundingClientRect();
    var placed = [];
    group.eachLayer(function (marker) {
      var el = marker.getElement();
      if (!el) { return; }
      el.style.display = "";
      var show = marker.kind === kind;
      if (show) {
        var r = (el.firstChild || el).getBoundingClientRect();
        var box = { left: r.left - 2, right: r.right + 2, top: r.top - 2, bottom: r.bottom + 2 };
        show = overlaps(box, view) && !placed.some(function (q) { return overlaps(box, q); });
        if (show) { placed.push(box); }
      }
      el.style.display = show ? "" : "none";
    });
    gg.labelsShown = placed.length;
  };

  /* The panels' layout (see the top of this file). */
  gg.layout = function () {
    var map = gg.map;
    if (!map) { return; }
    var box = map.getContainer().getBoundingClientRect();
    var title = document.querySelector(".gridgeo-title");
    ["left", "right"].forEach(function (side) {
      var corner = map.getContainer().querySelector(".leaflet-top.leaflet-" + side);
      if (!corner || !title) { return; }
      corner.style.top = "";
      var t = title.getBoundingClientRect();
      var c = corner.getBoundingClientRect();
      var meet = c.left < t.right && t.left < c.right && c.height > 0;
      corner.style.top = meet ? Math.ceil(t.bottom - box.top) + "px" : "";
    });
    stackAbove(".gridgeo-filters", ".leaflet-bottom.leaflet-left", box);
    stackAbove(".gridgeo-legend", ".leaflet-bottom.leaflet-right", box);
    var legend = document.querySelector(".gridgeo-legend");
    var right = map.getContainer().querySelector(".leaflet-top.leaflet-right");
    if (legend && right) {
      var floor = right.getBoundingClientRect().bottom + 8;
      var bottom = box.bottom - parseFloat(legend.style.bottom || "0");
      var room = Math.max(bottom - Math.max(floor, box.top + 8), 80);
      var cap = gg.small() ? 0.4 * box.height : room;
      legend.style.maxHeight = Math.floor(Math.min(room, cap)) + "px";
    }
  };

  /* Anchor a bottom panel just above the controls of its corner (scale, attribution). */
  function stackAbove(selector, cornerSelector, box) {
    var el = document.querySelector(selector);
    var corner = gg.map.getContainer().querySelector(cornerSelector);
    if (!el || !corner) { return; }
    var top = box.bottom;
    Array.prototype.forEach.call(corner.children, function (c) {
      top = Math.min(top, c.getBoundingClientRect().top);
    });
    el.style.bottom = Math.ceil(box.bottom - top + 6) + "px";
  }

  /* The collapsible panels: open on a large screen, closed on a small one; on a small
   * screen opening one closes the others (and the layer control). */
  function panels() {
    var all = Array.prototype.slice.call(document.querySelectorAll("details.gridgeo-collapsible"));
    var small = gg.small();
    all.forEach(function (d) {
      d.open = !small;
      d.addEventListener("toggle", function () {
        if (d.open && gg.small()) {
          all.forEach(function (o) { if (o !== d) { o.open = false; } });
          if (gg.layerControl) { gg.layerControl.collapse(); }
        }
        gg.layout();
      });
    });
    gg.layout();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", panels);
  } else {
    panels();
  }
})();
