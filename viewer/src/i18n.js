// Every label of the viewer in Chinese (the default) and English. Static markup names its
// label with data-i18n (text), data-i18n-label (aria-label; a button's title too) or
// data-i18n-placeholder; code asks t(key).

const LABELS = {
  zh: {
    appTitle: 'OneMap 一张图',
    map: '地图',
    layers: '图层',
    showLayers: '显示图层列表',
    base: '底图',
    province: '省级',
    city: '市级',
    county: '县级',
    otherLevel: '其他',
    noDepartment: '未注明部门',
    search: '搜索地名或行政区划代码',
    searchHint: '地名、行政区划代码（如 440106）',
    searchNone: '没有找到匹配的地点',
    searchUnavailable: '搜索暂不可用',
    zoomIn: '放大',
    zoomOut: '缩小',
    gridButton: '切换坐标系',
    gridMercator: 'Web 墨卡托',
    gridCgcs2000: 'CGCS2000 经纬度',
    language: 'English',
    languageLabel: '切换到英文',
    opacity: '不透明度',
    details: '详情',
    licence: '许可',
    version: '版本',
    updated: '更新时间',
    attribution: '来源',
    department: '部门',
    timeEnabled: '时间',
    gcj02: '坐标可能有 GCJ-02 偏移（约 300–600 米），不宜用于千米以下的定位。',
    raster: '栅格',
    time: '时间',
    timeLabel: '选择时间',
    close: '关闭',
    viewInApi: '在 OGC API 中查看',
    noFeature: '此处没有要素',
    loadFailed: '加载失败：',
    // the analysis panel (analysis.js)
    analysis: '分析',
    analysisLabel: '打开或关闭分析面板',
    analysisMethod: '分析方法',
    nearestFacilities: '最近设施',
    affectedArea: '影响范围',
    driveTime: '驾车时间可达范围',
    drawPoint: '在地图上点选一个位置。',
    drawPointOrArea: '在地图上点选一个位置或画一个面（双击结束）。',
    drawPointButton: '画点',
    drawAreaButton: '画面',
    mapCentre: '用地图中心',
    clearDrawing: '清除图形',
    drawCancelled: '已取消绘制',
    nothingDrawn: '尚未选择位置',
    drawnPoint: '点：',
    drawnArea: '面：',
    vertices: '个顶点',
    facilitiesLayer: '设施图层',
    listedLayer: '列出其中要素的图层',
    noLayer: '（不列出）',
    roadsLayer: '道路图层',
    howMany: '数量',
    radiusM: '半径（米）',
    minutesBands: '时间（分钟，逗号分隔）',
    runAnalysis: '运行分析',
    jobProgress: '分析进度',
    'job-accepted': '排队中',
    'job-running': '运行中',
    'job-successful': '已完成',
    'job-failed': '失败',
    'job-dismissed': '已取消',
    analysisFailed: '分析失败：',
    'output-nearest': '最近设施',
    'output-areas': '可达范围',
    'output-zone': '影响范围',
    'output-units': '受影响行政区',
    'output-features': '范围内要素',
    downloadGeojson: '下载 GeoJSON',
    clearResult: '清除结果',
    colon: '：',
  },
  en: {
    appTitle: 'OneMap',
    map: 'Map',
    layers: 'Layers',
    showLayers: 'Show the layer list',
    base: 'Base map',
    province: 'Province',
    city: 'City',
    county: 'County',
    otherLevel: 'Other',
    noDepartment: 'Department not given',
    search: 'Search a place name or an administrative code',
    searchHint: 'Place name or code (e.g. 440106)',
    searchNone: 'No matching place',
    searchUnavailable: 'Search is not available',
    zoomIn: 'Zoom in',
    zoomOut: 'Zoom out',
    gridButton: 'Switch the coordinate system',
    gridMercator: 'Web Mercator',
    gridCgcs2000: 'CGCS2000 lon/lat',
    language: '中文',
    languageLabel: 'Switch to Chinese',
    opacity: 'Opacity',
    details: 'Details',
    licence: 'Licence',
    version: 'Version',
    updated: 'Updated',
    attribution: 'Source',
    department: 'Department',
    timeEnabled: 'time',
    gcj02:
      'Coordinates are probably GCJ-02-offset (about 300–600 m): not for sub-kilometre positioning.',
    raster: 'raster',
    time: 'Time',
    timeLabel: 'Choose the time',
    close: 'Close',
    viewInApi: 'View in OGC API',
    noFeature: 'No feature here',
    loadFailed: 'Could not load: ',
    // the analysis panel (analysis.js)
    analysis: 'Analyse',
    analysisLabel: 'Open or close the analysis panel',
    analysisMethod: 'Analysis',
    nearestFacilities: 'Nearest facilities',
    affectedArea: 'Affected area',
    driveTime: 'Drive-time area',
    drawPoint: 'Click a location on the map.',
    drawPointOrArea: 'Click a location or draw an area on the map (double-click to finish).',
    drawPointButton: 'Draw a point',
    drawAreaButton: 'Draw an area',
    mapCentre: 'Use the map centre',
    clearDrawing: 'Clear the drawing',
    drawCancelled: 'Drawing cancelled',
    nothingDrawn: 'No location chosen yet',
    drawnPoint: 'Point: ',
    drawnArea: 'Area: ',
    vertices: 'vertices',
    facilitiesLayer: 'Facilities layer',
    listedLayer: 'Layer whose features are listed',
    noLayer: '(none)',
    roadsLayer: 'Road layer',
    howMany: 'How many',
    radiusM: 'Radius (m)',
    minutesBands: 'Minutes (comma-separated)',
    runAnalysis: 'Run the analysis',
    jobProgress: 'Analysis progress',
    'job-accepted': 'Queued',
    'job-running': 'Running',
    'job-successful': 'Done',
    'job-failed': 'Failed',
    'job-dismissed': 'Dismissed',
    analysisFailed: 'The analysis failed: ',
    'output-nearest': 'Nearest facilities',
    'output-areas': 'Reachable areas',
    'output-zone': 'Affected zone',
    'output-units': 'Affected admin units',
    'output-features': 'Features inside',
    downloadGeojson: 'Download GeoJSON',
    clearResult: 'Clear the result',
    colon: ': ',
  },
};

let current = 'zh';

export function language() {
  return current;
}

export function t(key) {
  return LABELS[current][key] ?? key;
}

export function setLanguage(lang, root = document) {
  current = lang === 'en' ? 'en' : 'zh';
  document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
  for (const element of root.querySelectorAll('[data-i18n]')) {
    element.textContent = t(element.dataset.i18n);
  }
  for (const element of root.querySelectorAll('[data-i18n-label]')) {
    element.setAttribute('aria-label', t(element.dataset.i18nLabel));
    if (element.tagName === 'BUTTON') element.title = t(element.dataset.i18nLabel);
  }
  for (const element of root.querySelectorAll('[data-i18n-placeholder]')) {
    element.placeholder = t(element.dataset.i18nPlaceholder);
  }
}

// A catalog text in the viewer's language, falling back to the other one.
export function localized(zh, en) {
  return (current === 'en' ? en || zh : zh || en) || '';
}
