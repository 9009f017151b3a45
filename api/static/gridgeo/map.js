/* gridgeo map pages: layers drawn from inline GeoJSON or from the service's vector tiles,
 * styled by class breaks given as data, with popups. No third-party code here; Leaflet and
 * Leaflet.VectorGrid are served from /static/vendor/ (scripts/vendor.sh).
 *
 * window.gridgeo.layers[name] holds each layer, window.gridgeo.drawn[name] counts the
 * features styled (drawn) so far; the browser test reads both.
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

  /* fields: [[property, label, options], ...]; options (optional): values (property value →
   * the words shown), text (shown whatever the feature), small (a reference, in small type),
   * title (the feature's title: the first such property that has a value). */
  function cell(props, f) {
    var o = f[2] || {};
    var v = o.text !== undefined ? o.text : props[f[0]];
    if (v === undefined || v === null || v === "") { return ""; }
    if (o.values && o.values[String(v)] !== undefined) { v = o.values[String(v)]; }
    return v;
  }

  gg.popup = function (props, fields, title) {
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
    var head = title ? "<div class=\"gridgeo-popup-title\">" + escapeHtml(title) + "</div>" : "";
    return head + "<table class=\"gridgeo-popup\">" + rows + "</table>";
  };

  /* spec.cluster: {until: zoom}: points as circles, clustered (Leaflet.markercluster) below
   * that zoom. */
  gg.geojson = function (name, data, spec) {
    var layer = L.geoJSON(data, {
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, gg.style(spec, feature.properties));
      },
      style: function (feature) {
        count(name);
        return gg.style(spec, feature.properties);
      },
      onEachFeature: function (feature, featureLayer) {
        if (spec.popup) {
          featureLayer.bindPopup(gg.popup(feature.properties, spec.popup, spec.title));
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

  /* specs: {mvt layer name: style spec}; options: minZoom, interactive, canvas, popup */
  gg.tiles = function (name, url, specs, options) {
    var styles = {};
    Object.keys(specs).forEach(function (layerName) {
      styles[layerName] = function (props) {
        count(name);
        return gg.style(specs[layerName], props);
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
    });
    if (options.popup) {
      layer.on("click", function (e) {
        L.popup()
          .setLatLng(e.latlng)
          .setContent(gg.popup(e.layer.properties || {}, options.popup, options.title))
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
})();
