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
    lastChange: '最后修改：',
    noFeature: '此处没有要素',
    loadFailed: '加载失败：',
    // measuring and PNG export (measure.js, export.js)
    tools: '测量与导出',
    measureDistance: '测距',
    measureDistanceLabel: '测距：在地图上依次点击，双击或按回车结束，Esc 取消',
    measureArea: '测面',
    measureAreaLabel: '测面：在地图上依次点击各顶点，点击起点或按回车结束，Esc 取消',
    measureClear: '清除',
    measureClearLabel: '清除测量结果',
    measureFinish: '完成',
    measureFinishLabel: '完成本次测量',
    hectares: '公顷',
    exportPng: '导出',
    exportPngLabel: '导出当前地图为 PNG 图片',
    exportFailed: '导出失败：',
    exportTainted: '导出失败：有图层来自其他地址，请从服务器的公开地址打开本页。',
    signIn: '登录',
    signOut: '退出',
    signedInAs: '已登录：',
    signedOut: '已退出登录',
    signinExpired: '登录已过期，已退出',
    signinState: '登录被拒绝：返回的请求与本页发出的不符（state）',
    signinFailed: '登录失败',
    signinNeedsHttps: '登录需要 HTTPS 页面',
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
    lastChange: 'Last changed: ',
    noFeature: 'No feature here',
    loadFailed: 'Could not load: ',
    // measuring and PNG export (measure.js, export.js)
    tools: 'Measure and export',
    measureDistance: 'Distance',
    measureDistanceLabel: 'Distance: click points on the map; double-click or Enter finishes, Esc cancels',
    measureArea: 'Area',
    measureAreaLabel: 'Area: click the corners on the map; the first corner or Enter finishes, Esc cancels',
    measureClear: 'Clear',
    measureClearLabel: 'Clear the measurements',
    measureFinish: 'Finish',
    measureFinishLabel: 'Finish this measurement',
    hectares: 'ha',
    exportPng: 'PNG',
    exportPngLabel: 'PNG: export the current map as an image',
    exportFailed: 'Export failed: ',
    exportTainted: 'Export failed: a layer comes from another address; open this page at the server’s public address.',
    signIn: 'Sign in',
    signOut: 'Sign out',
    signedInAs: 'Signed in as ',
    signedOut: 'Signed out',
    signinExpired: 'The sign-in expired; signed out',
    signinState: 'Sign-in refused: the answer is not for a request this page made (state)',
    signinFailed: 'Sign-in failed',
    signinNeedsHttps: 'Signing in needs an HTTPS page',
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
